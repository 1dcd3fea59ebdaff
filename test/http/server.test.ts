// src/http/server.ts: requests and responses are made with the app's Express prototypes, so
// Express's own Object.setPrototypeOf per request finds nothing to change (issue 12).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import express from 'express';
import { createAppServer } from '../../src/http/server.ts';

test('a request and its response carry the app\'s Express prototypes before Express sees them, and are served as usual', async () => {
  const app = express();
  app.get('/hello', (req, res) => {
    res.status(201).json({ path: req.path, app: req.app === app });
  });
  const { server, serve } = createAppServer();
  const seen: boolean[] = [];
  // Runs before the app, which is added by serve(): what Node itself constructed.
  server.on('request', (req, res) => {
    seen.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
  });
  serve(app);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/hello?x=1`);
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { path: '/hello', app: true });
    }
    assert.deepEqual(seen, [true, true, true, true]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
