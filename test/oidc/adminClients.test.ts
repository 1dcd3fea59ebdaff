// `admin clients add|list|remove` through the real command program on a real SQLite file:
// the secret is shown once and stored hashed, registration rules hold, changes ask first.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import type { AdminIo } from '../../src/admin/command.ts';
import { runAdmin } from '../../src/admin/program.ts';
import { secretMatches } from '../../src/oidc/clients.ts';
import { openDatabase } from '../../src/stores/sql/database.ts';

function fakeIo(interactive = false, answer = ''): AdminIo & { out: (t: string) => void; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout, stderr, interactive,
    out: (text) => void stdout.push(text),
    err: (text) => void stderr.push(text),
    ask: async () => answer,
  };
}

let dir: string;
let previousUrl: string | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'yagona-clients-'));
  previousUrl = process.env.DATABASE_URL;
  process.env.DATABASE_URL = `sqlite:${join(dir, 'clients.sqlite')}`;
});
after(async () => {
  if (previousUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = previousUrl;
  await rm(dir, { recursive: true, force: true });
});

async function admin(args: string[], io = fakeIo()): Promise<{ code: number; io: ReturnType<typeof fakeIo> }> {
  return { code: await runAdmin(args, io), io };
}

describe('admin clients', () => {
  test('add prints the client_id and the secret once; only its hash is stored', async () => {
    const { code, io } = await admin(['clients', 'add', '--name', 'Tax office', '--redirect-uri', 'https://tax.example/cb', 'http://127.0.0.1:3000/cb', '--yes', '--json']);
    assert.equal(code, 0, io.stderr.join(''));
    const printed = JSON.parse(io.stdout.join('')) as Record<string, unknown>;
    assert.match(String(printed.client_id), /^agency-/);
    assert.match(String(printed.client_secret), /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(printed.redirect_uris, ['https://tax.example/cb', 'http://127.0.0.1:3000/cb']);
    assert.equal(printed.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(printed.subject_type, 'pairwise');
    const db = await openDatabase(process.env.DATABASE_URL as string);
    try {
      const stored = await db.clients.find(String(printed.client_id));
      assert.ok(stored);
      assert.notEqual(stored.secretHash, printed.client_secret);
      assert.ok(secretMatches(stored, String(printed.client_secret)));
      assert.ok(!secretMatches(stored, 'x'.repeat(43)));
      const audit = await db.audit.tail(1);
      assert.equal(audit[0]?.type, 'client_added');
    } finally {
      await db.close();
    }
    const list = await admin(['clients', 'list', '--json']);
    const listed = JSON.parse(list.io.stdout.join('')) as Array<Record<string, unknown>>;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.client_secret, undefined, 'never listed again');
    assert.doesNotMatch(list.io.stdout.join(''), /secret_hash|subject_salt|secretHash|subjectSalt/);
  });

  test('redirect URIs must be https, or http on a loopback address only', async () => {
    for (const uri of ['http://tax.example/cb', 'http://localhost:3000/cb', 'https://tax.example/cb#frag', 'tax.example/cb']) {
      const { code, io } = await admin(['clients', 'add', '--name', 'Bad', '--redirect-uri', uri, '--yes']);
      assert.equal(code, 1, uri);
      assert.equal(io.stderr.length, 1);
      assert.match(io.stderr[0] ?? '', /^error: .*redirect URI.*\n$/);
    }
  });

  test('private_key_jwt needs a public JWKS and gets no secret', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    const ok = await admin(['clients', 'add', '--name', 'Keyed', '--redirect-uri', 'https://k.example/cb', '--auth', 'private_key_jwt', '--jwks', file, '--yes', '--json']);
    assert.equal(ok.code, 0, ok.io.stderr.join(''));
    assert.equal((JSON.parse(ok.io.stdout.join('')) as Record<string, unknown>).client_secret, undefined);
    const leaked = join(dir, 'private.json');
    await writeFile(leaked, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    const refused = await admin(['clients', 'add', '--name', 'Leaky', '--redirect-uri', 'https://k.example/cb', '--auth', 'private_key_jwt', '--jwks', leaked, '--yes']);
    assert.equal(refused.code, 1);
    assert.match(refused.io.stderr[0] ?? '', /private key material/);
    const missing = await admin(['clients', 'add', '--name', 'NoKeys', '--redirect-uri', 'https://k.example/cb', '--auth', 'private_key_jwt', '--yes']);
    assert.equal(missing.code, 1);
  });

  test('add and remove ask first: without a terminal and without --yes they refuse', async () => {
    const refused = await admin(['clients', 'add', '--name', 'Quiet', '--redirect-uri', 'https://q.example/cb']);
    assert.equal(refused.code, 1);
    assert.match(refused.io.stderr[0] ?? '', /pass --yes/);
    const added = await admin(['clients', 'add', '--name', 'Gone soon', '--redirect-uri', 'https://g.example/cb', '--yes', '--json']);
    const id = String((JSON.parse(added.io.stdout.join('')) as Record<string, unknown>).client_id);
    assert.equal((await admin(['clients', 'remove', id])).code, 1);
    const declined = await admin(['clients', 'remove', id], fakeIo(true, 'n'));
    assert.equal(declined.code, 1);
    const removed = await admin(['clients', 'remove', id], fakeIo(true, 'y'));
    assert.equal(removed.code, 0, removed.io.stderr.join(''));
    const again = await admin(['clients', 'remove', id, '--yes']);
    assert.equal(again.code, 1);
    assert.match(again.io.stderr[0] ?? '', /no client/);
  });
});
