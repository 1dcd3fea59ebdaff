// `admin clients add|list|remove` through the real command program on a real SQLite file:
// the secret is shown once and stored hashed, registration rules hold, changes ask first, and
// a refused change writes nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { secretMatches } from '../../src/oidc/clients.ts';
import { openDatabase } from '../../src/stores/sql/database.ts';
import { assertOneLineFailure, runAdmin, type InProcessOptions } from '../helpers/admin.ts';

let dir: string;
let databaseUrl: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'yagona-clients-'));
  databaseUrl = `sqlite:${join(dir, 'clients.sqlite')}`;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const admin = (args: string[], options: InProcessOptions = {}) => runAdmin(args, { DATABASE_URL: databaseUrl }, options);

/** The registered client names and the audit log's length: what a refused change must leave alone. */
async function snapshot(): Promise<{ names: string[]; audit: number }> {
  const db = await openDatabase(databaseUrl);
  try {
    return { names: (await db.clients.list()).map((client) => client.name).sort(), audit: (await db.audit.tail(1000)).length };
  } finally {
    await db.close();
  }
}

describe('admin clients', () => {
  test('add prints the client_id and the secret once; only its hash is stored', async () => {
    const run = await admin(['clients', 'add', '--name', 'Tax office', '--redirect-uri', 'https://tax.example/cb', 'http://127.0.0.1:3000/cb', '--yes', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.match(String(printed.client_id), /^agency-/);
    assert.match(String(printed.client_secret), /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(printed.redirect_uris, ['https://tax.example/cb', 'http://127.0.0.1:3000/cb']);
    assert.equal(printed.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(printed.subject_type, 'pairwise');
    const db = await openDatabase(databaseUrl);
    try {
      const stored = await db.clients.find(String(printed.client_id));
      assert.ok(stored);
      assert.notEqual(stored.secretHash, printed.client_secret);
      assert.ok(secretMatches(stored, String(printed.client_secret), new Date()));
      assert.ok(!secretMatches(stored, 'x'.repeat(43), new Date()));
      const audit = await db.audit.tail(1);
      assert.equal(audit[0]?.type, 'client_added');
    } finally {
      await db.close();
    }
    const list = await admin(['clients', 'list', '--json']);
    const listed = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.client_secret, undefined, 'never listed again');
    assert.doesNotMatch(list.stdout, /secret_hash|subject_salt|secretHash|subjectSalt/);
  });

  test('redirect URIs must be https, or http on a loopback address only', async () => {
    const before = await snapshot();
    for (const uri of ['http://tax.example/cb', 'http://localhost:3000/cb', 'https://tax.example/cb#frag', 'tax.example/cb']) {
      assertOneLineFailure(await admin(['clients', 'add', '--name', 'Bad', '--redirect-uri', uri, '--yes']), /^error: .*redirect URI/);
    }
    assert.deepEqual(await snapshot(), before, 'nothing registered');
  });

  test('private_key_jwt needs a public JWKS and gets no secret', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    const ok = await admin(['clients', 'add', '--name', 'Keyed', '--redirect-uri', 'https://k.example/cb', '--auth', 'private_key_jwt', '--jwks', file, '--yes', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const printed = JSON.parse(ok.stdout) as Record<string, unknown>;
    assert.equal(printed.client_secret, undefined);
    assert.equal(printed.token_endpoint_auth_method, 'private_key_jwt');
    const before = await snapshot();
    const leaked = join(dir, 'private.json');
    await writeFile(leaked, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    assertOneLineFailure(await admin(['clients', 'add', '--name', 'Leaky', '--redirect-uri', 'https://k.example/cb', '--auth', 'private_key_jwt', '--jwks', leaked, '--yes']),
      /private key material/);
    assertOneLineFailure(await admin(['clients', 'add', '--name', 'NoKeys', '--redirect-uri', 'https://k.example/cb', '--auth', 'private_key_jwt', '--yes']),
      /private_key_jwt needs --jwks/);
    assert.deepEqual(await snapshot(), before, 'neither registered');
  });

  test('add and remove ask first: without a terminal and without --yes they refuse', async () => {
    const empty = await snapshot();
    assertOneLineFailure(await admin(['clients', 'add', '--name', 'Quiet', '--redirect-uri', 'https://q.example/cb']), /pass --yes/);
    assert.deepEqual(await snapshot(), empty, 'nothing registered');
    const added = await admin(['clients', 'add', '--name', 'Gone soon', '--redirect-uri', 'https://g.example/cb', '--yes', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const id = String((JSON.parse(added.stdout) as Record<string, unknown>).client_id);
    const registered = await snapshot();
    assertOneLineFailure(await admin(['clients', 'remove', id]), /pass --yes/);
    const declined = await admin(['clients', 'remove', id], { answer: 'n' });
    assert.deepEqual(declined.questions, [`Remove the agency app "Gone soon" (${id})? [y/N] `]);
    assertOneLineFailure(declined, /^error: cancelled: nothing was changed$/);
    assert.deepEqual(await snapshot(), registered, 'still registered');
    const removed = await admin(['clients', 'remove', id], { answer: 'y' });
    assert.equal(removed.code, 0, removed.stderr);
    assert.ok(!(await snapshot()).names.includes('Gone soon'));
    assertOneLineFailure(await admin(['clients', 'remove', id, '--yes']), /no client/);
  });
});
