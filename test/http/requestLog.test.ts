// One log line per request names the path the client asked for, also under a mounted router.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import express from 'express';
import pino from 'pino';
import { requestLog } from '../../src/http/requestLog.ts';

test('the request line names the whole path of a request answered inside a router mounted at /v1, with its id', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const app = express();
  app.use(requestLog(logger));
  const v1 = express.Router();
  v1.post('/sessions', (_req, res) => { res.status(201).json({}); });
  app.use('/v1', v1);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/sessions`, { method: 'POST', headers: { 'x-request-id': 'request-0001' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-request-id'), 'request-0001');
    const line = lines.find((l) => l.msg === 'request');
    assert.equal(line?.path, '/v1/sessions');
    assert.equal(line?.reqId, 'request-0001');
    assert.equal(line?.status, 201);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
