// GET /downloads/agent lists the agent packages of AGENT_DOWNLOADS_DIR under the names
// agent/package/ writes (newest first, each with its SHA-256); a package downloads as an
// attachment; nothing else in the folder is served, and a missing folder offers nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki } from '../helpers/testPki.ts';

let dir: string;
let database: TestDatabase;
let app: TestApp;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'yagona-downloads-'));
  database = await openTestDatabase('sqlite');
  app = await startTestApp({ store: 'memory', database, pki: await createTestPki(), env: { AGENT_DOWNLOADS_DIR: join(dir, 'agent') } });
});
after(async () => {
  await app.close();
  await database.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

test('no folder: nothing offered, and no file served', async () => {
  const res = await app.get('/downloads/agent');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { downloads: [] });
  assert.equal((await app.get('/downloads/agent/yagona-agent_1.1.0_amd64.deb')).status, 404);
});

test('packages by their names, newest first; other files are neither listed nor served', async () => {
  const folder = join(dir, 'agent');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'yagona-agent_1.1.0_amd64.deb'), 'old package');
  writeFileSync(join(folder, 'yagona-agent_1.10.0_amd64.deb'), 'new package');
  writeFileSync(join(folder, 'notes.txt'), 'not a package');
  mkdirSync(join(folder, 'yagona-agent_2.0.0_amd64.deb'));
  const res = await app.get('/downloads/agent');
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.deepEqual(await res.json(), {
    downloads: [
      { platform: 'linux-deb', name: 'yagona-agent_1.10.0_amd64.deb', url: '/downloads/agent/yagona-agent_1.10.0_amd64.deb', version: '1.10.0', bytes: 11, sha256: sha256('new package') },
      { platform: 'linux-deb', name: 'yagona-agent_1.1.0_amd64.deb', url: '/downloads/agent/yagona-agent_1.1.0_amd64.deb', version: '1.1.0', bytes: 11, sha256: sha256('old package') },
    ],
  });

  const file = await app.get('/downloads/agent/yagona-agent_1.10.0_amd64.deb');
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-type'), 'application/vnd.debian.binary-package');
  assert.equal(file.headers.get('content-disposition'), 'attachment; filename=yagona-agent_1.10.0_amd64.deb');
  assert.equal(file.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await file.text(), 'new package');
  for (const name of ['notes.txt', 'yagona-agent_2.0.0_amd64.deb', '..%2Fnotes.txt', '%2e%2e%2fagent%2fnotes.txt']) {
    const refused = await app.get(`/downloads/agent/${name}`);
    assert.equal(refused.status, 404, name);
    assert.equal(((await refused.json()) as { code: string }).code, 'not_found');
  }
});
