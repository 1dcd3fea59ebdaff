// Token-signing keys: created on first start, sealed with KEYS_SECRET, rotated with the old key
// still published until its tokens have expired.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { openKeyRing, signingAlgorithms, type KeyRing } from '../../src/keys/keyRing.ts';
import type { Database } from '../../src/stores/types.ts';
import { openTestDatabases, type TestDatabase } from '../helpers/services.ts';

let databases: TestDatabase[];
before(async () => { databases = await openTestDatabases(); });
after(async () => { await Promise.all(databases.map((d) => d.cleanup())); });

async function withDb<T>(kind: 'sqlite' | 'postgres', body: (db: Database) => Promise<T>): Promise<T> {
  const db = await (databases.find((d) => d.kind === kind) as TestDatabase).open();
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`${kind}: first start creates one key; a restart reuses it; sealed with the secret`, async () => {
    const clock = fixedClock(new Date('2026-11-27T10:00:00Z'));
    const secret = 'correct horse battery staple';
    const kids = (ring: KeyRing) => signingAlgorithms.map((alg) => ring.active(alg).kid);
    const first = await withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret, retainSeconds: 600 }).then(kids));
    const again = await withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret, retainSeconds: 600 }).then(kids));
    assert.deepEqual(first, again);
    assert.equal(new Set(first).size, 3, 'one key per algorithm');
    const stored = await withDb(kind, (store) => store.signingKeys.list());
    for (const [index, alg] of signingAlgorithms.entries()) {
      const record = stored.find((r) => r.kid === first[index]);
      assert.equal(record?.alg, alg);
      assert.doesNotMatch(record?.privateKey ?? '', /"d"/, 'the private key is not stored in the clear');
    }
    await assert.rejects(withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret: 'another secret value', retainSeconds: 600 })), /KEYS_SECRET is wrong/);
    await assert.rejects(withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret: undefined, retainSeconds: 600 })), /set KEYS_SECRET/);
  });
}

test('ES256, RS256 and PS256: each signs with its own key, named with its alg in the JWKS, which holds no private member', async () => {
  await withDb('sqlite', async (db) => {
    const clock = fixedClock(new Date('2026-11-27T10:00:00Z'));
    const ring = await openKeyRing({ store: db.signingKeys, clock, secret: 'correct horse battery staple', retainSeconds: 600 });
    const { keys } = ring.jwks();
    assert.deepEqual(keys.map((k) => [k.alg, k.kty, k.use]).sort(), [['ES256', 'EC', 'sig'], ['PS256', 'RSA', 'sig'], ['RS256', 'RSA', 'sig']]);
    for (const key of keys) for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(member in key, false, `${key.alg} publishes ${member}`);
    const rsa = keys.filter((k) => k.kty === 'RSA');
    assert.equal(Buffer.from(rsa[0]?.n ?? '', 'base64url').length, 256, 'RSA-2048');
    assert.notEqual(rsa[0]?.n, rsa[1]?.n, 'RS256 and PS256 never share a key');
    const now = Math.floor(clock.now().getTime() / 1000);
    const jwks = createLocalJWKSet(ring.jwks());
    for (const alg of signingAlgorithms) {
      const token = ring.signJwt({ iss: 'i', iat: now, exp: now + 60 }, 'JWT', alg);
      const { protectedHeader } = await jwtVerify(token, jwks, { algorithms: [alg], currentDate: clock.now() });
      assert.equal(protectedHeader.kid, ring.active(alg).kid);
      // The key is bound to its algorithm: the same kid under another alg does not verify.
      const [, payload, signature] = token.split('.');
      const other = alg === 'PS256' ? 'RS256' : 'PS256';
      const relabelled = `${Buffer.from(JSON.stringify({ alg: other, kid: protectedHeader.kid, typ: 'JWT' })).toString('base64url')}.${payload}.${signature}`;
      await assert.rejects(jwtVerify(relabelled, async () => (await ring.publicKey(protectedHeader.kid as string)) as CryptoKey, { currentDate: clock.now() }));
    }
  });
});

test('rotation: new tokens use the new key, old tokens verify until the retention ends', async () => {
  await withDb('sqlite', async (db) => {
    const clock = fixedClock(new Date('2026-11-27T10:00:00Z'));
    const ring = await openKeyRing({ store: db.signingKeys, clock, secret: 'correct horse battery staple', retainSeconds: 600 });
    const now = Math.floor(clock.now().getTime() / 1000);
    const oldToken = ring.signJwt({ iss: 'i', sub: 's', iat: now, exp: now + 600 }, 'at+jwt');
    const oldKid = ring.active().kid;
    const oldKids = signingAlgorithms.map((alg) => ring.active(alg).kid);
    const rotated = await ring.rotate();
    assert.deepEqual(rotated.map((k) => k.retiredKid), oldKids, 'every algorithm rotates');
    assert.notEqual(ring.active().kid, oldKid);
    const newToken = ring.signJwt({ iss: 'i', sub: 's', iat: now, exp: now + 600 }, 'at+jwt');
    const jwks = createLocalJWKSet(ring.jwks());
    assert.ok(ring.jwks().keys.some((k) => k.kid === oldKid));
    for (const token of [oldToken, newToken]) await jwtVerify(token, jwks, { algorithms: ['ES256'], currentDate: clock.now() });
    clock.advanceSeconds(601);
    assert.deepEqual(ring.jwks().keys.map((k) => k.kid).sort(), signingAlgorithms.map((alg) => ring.active(alg).kid).sort());
    assert.equal(await ring.publicKey(oldKid), undefined);
  });
});
