// The integration guide works: examples/agency-app (openid-client) signs a citizen in
// against the real service, shows their name, and signs them out again.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createAgencyApp } from '../../examples/agency-app/server.ts';
import { signInThroughAgency } from '../../examples/agency-app/sign-in-from-terminal.ts';
import { ensureDemoAgency } from '../../src/oidc/demoAgency.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki, type TestPki } from '../helpers/testPki.ts';
import { startOidcApp } from './helpers.ts';

let pki: TestPki;
let database: TestDatabase;
let app: TestApp;
let dir: string;

before(async () => {
  pki = await createTestPki();
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki });
  dir = await mkdtemp(join(tmpdir(), 'yagona-agency-'));
});
after(async () => {
  await app.close();
  await database.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('the demo agency app signs a citizen in, shows their name and signs them out', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const file = join(dir, 'demo-agency.json');
    const first = await ensureDemoAgency(app.db.clients, { issuer: app.url, file, appUrl, at: new Date() });
    assert.equal(first.created, true);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { clientSecret: string };
    assert.equal(saved.clientSecret, first.settings.clientSecret);
    // A second start keeps the registration and the file.
    assert.equal((await ensureDemoAgency(app.db.clients, { issuer: app.url, file, appUrl, at: new Date() })).created, false);

    server.on('request', await createAgencyApp(first.settings));
    const citizen = await pki.citizen();
    const html = await signInThroughAgency(appUrl, { privateKey: citizen.privateKey, certificate: citizen.certDer, chain: citizen.chain });
    assert.match(html, /Signed in as <strong id="name">Citizen \d+<\/strong>/);
  } finally {
    await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  }
});
