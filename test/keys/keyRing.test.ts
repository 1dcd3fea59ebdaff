// Token-signing keys: created on first start, sealed with KEYS_SECRET, rotated with the old key
// still published until its tokens have expired.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { openKeyRing } from '../../src/keys/keyRing.ts';
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
    const first = await withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret, retainSeconds: 600 }).then((ring) => ring.active().kid));
    const again = await withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret, retainSeconds: 600 }).then((ring) => ring.active().kid));
    assert.equal(first, again);
    const stored = await withDb(kind, (store) => store.signingKeys.list());
    const record = stored.find((r) => r.kid === first);
    assert.ok(record);
    assert.doesNotMatch(record.privateKey, /"d"/, 'the private key is not stored in the clear');
    await assert.rejects(withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret: 'another secret value', retainSeconds: 600 })), /KEYS_SECRET is wrong/);
    await assert.rejects(withDb(kind, (store) => openKeyRing({ store: store.signingKeys, clock, secret: undefined, retainSeconds: 600 })), /set KEYS_SECRET/);
  });
}

test('rotation: new tokens use the new key, old tokens verify until the retention ends', async () => {
  await withDb('sqlite', async (db) => {
    const clock = fixedClock(new Date('2026-11-27T10:00:00Z'));
    const ring = await openKeyRing({ store: db.signingKeys, clock, secret: 'correct horse battery staple', retainSeconds: 600 });
    const now = Math.floor(clock.now().getTime() / 1000);
    const oldToken = ring.signJwt({ iss: 'i', sub: 's', iat: now, exp: now + 600 }, 'at+jwt');
    const oldKid = ring.active().kid;
    await ring.rotate();
    assert.notEqual(ring.active().kid, oldKid);
    const newToken = ring.signJwt({ iss: 'i', sub: 's', iat: now, exp: now + 600 }, 'at+jwt');
    const jwks = createLocalJWKSet(ring.jwks());
    assert.ok(ring.jwks().keys.some((k) => k.kid === oldKid));
    for (const token of [oldToken, newToken]) await jwtVerify(token, jwks, { algorithms: ['ES256'], currentDate: clock.now() });
    clock.advanceSeconds(601);
    assert.deepEqual(ring.jwks().keys.map((k) => k.kid), [ring.active().kid]);
    assert.equal(await ring.publicKey(oldKid), undefined);
  });
});
