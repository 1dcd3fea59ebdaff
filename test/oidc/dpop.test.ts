// DPoP proof verification (RFC 9449 §4.3) on its own, against real Redis (two "instances"
// sharing one keyspace) and the in-process twin, with proofs signed by jose: every check of
// §4.3 refuses what it must, a proof works once, nonces are shared across instances.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { fixedClock } from '../../src/clock.ts';
import { assertSameKey, createDpopNonces, verifyDpopProof, type DpopDeps, type DpopRequest } from '../../src/oidc/dpop.ts';
import { OAuthError } from '../../src/errors.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { EphemeralStore } from '../../src/stores/types.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';

const url = 'https://id.example.uz/token';

interface Holder {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

async function holder(alg = 'ES256'): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

interface ProofInput {
  htm?: string;
  htu?: string;
  iat?: number;
  nonce?: string;
  ath?: string;
  jti?: string;
  typ?: string;
  alg?: string;
  jwk?: JWK;
}

function proof(key: Holder, now: Date, input: ProofInput = {}): Promise<string> {
  return new SignJWT({
    jti: input.jti ?? randomBytes(16).toString('base64url'),
    htm: input.htm ?? 'POST',
    htu: input.htu ?? url,
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    ...(input.ath === undefined ? {} : { ath: input.ath }),
  }).setProtectedHeader({ typ: input.typ ?? 'dpop+jwt', alg: input.alg ?? 'ES256', jwk: input.jwk ?? key.jwk })
    .setIssuedAt(input.iat ?? Math.floor(now.getTime() / 1000))
    .sign(key.privateKey);
}

const kinds = [
  { name: 'redis', stores: (): EphemeralStore[] => { const keyPrefix = uniqueKeyPrefix('dpop'); return [createRedisStore(testRedisUrl(), { keyPrefix }), createRedisStore(testRedisUrl(), { keyPrefix })]; } },
  { name: 'memory', stores: (): EphemeralStore[] => { const store = createMemoryStore(); return [store, store]; } },
];

before(() => requireRedis());

for (const kind of kinds) {
  describe(`DPoP proofs (${kind.name})`, () => {
    const clock = fixedClock(new Date('2026-12-01T10:00:00Z'));
    let stores: EphemeralStore[];
    let a: DpopDeps;
    let b: DpopDeps;
    let key: Holder;
    let nonce: string;
    const request = (proofJwt: string | undefined, extra: Partial<DpopRequest> = {}): DpopRequest =>
      ({ proof: proofJwt, method: 'POST', url, at: 'authorization-server', ...extra });

    before(async () => {
      stores = kind.stores();
      a = { store: stores[0] as EphemeralStore, clock, dpopNonces: createDpopNonces({ store: stores[0] as EphemeralStore, clock }) };
      b = { store: stores[1] as EphemeralStore, clock, dpopNonces: createDpopNonces({ store: stores[1] as EphemeralStore, clock }) };
      key = await holder();
      nonce = await a.dpopNonces.current();
    });
    after(async () => {
      await Promise.all([...new Set(stores)].map((s) => s.close()));
    });

    const refused = (code: string, status = 400) => (error: unknown) => {
      assert.ok(error instanceof OAuthError, String(error));
      assert.equal(error.error, code, error.message);
      assert.equal(error.status, status);
      return true;
    };

    test('a good proof yields its key\'s RFC 7638 thumbprint; the nonce of one instance is the other\'s', async () => {
      assert.equal(await b.dpopNonces.current(), nonce, 'one nonce per window for every instance');
      const result = await verifyDpopProof(b, request(await proof(key, clock.now(), { nonce })));
      assert.equal(result.jkt, key.jkt);
      // The query is not part of htu (RFC 9449 §4.3 item 9); scheme and host case are normalised.
      await verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, htu: 'HTTPS://ID.example.uz:443/token' }), { url: `${url}?x=1` }));
    });

    test('without a nonce, or with one never handed out: use_dpop_nonce carrying the nonce to use', async () => {
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now()))), (error: unknown) => {
        refused('use_dpop_nonce')(error);
        assert.equal((error as OAuthError).dpopNonce, nonce);
        return true;
      });
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce: 'made-up' }))), refused('use_dpop_nonce'));
    });

    test('a nonce works for its window and the next, not after', async () => {
      const local = fixedClock(clock.now());
      const deps: DpopDeps = { store: a.store, clock: local, dpopNonces: createDpopNonces({ store: a.store, clock: local }) };
      const first = await deps.dpopNonces.current();
      local.advanceSeconds(300);
      assert.notEqual(await deps.dpopNonces.current(), first);
      await verifyDpopProof(deps, request(await proof(key, local.now(), { nonce: first })));
      local.advanceSeconds(300);
      await assert.rejects(verifyDpopProof(deps, request(await proof(key, local.now(), { nonce: first }))), refused('use_dpop_nonce'));
    });

    test('a proof replayed, even racing itself on two instances, works once', async () => {
      const once = await proof(key, clock.now(), { nonce });
      await verifyDpopProof(a, request(once));
      await assert.rejects(verifyDpopProof(b, request(once)), refused('invalid_dpop_proof'));
      const raced = await proof(key, clock.now(), { nonce });
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => verifyDpopProof(i % 2 === 0 ? a : b, request(raced))));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    test('another URL or method, a stale or future iat: invalid_dpop_proof', async () => {
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, htu: 'https://id.example.uz/par' }))), refused('invalid_dpop_proof'));
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, htu: 'https://other.example.uz/token' }))), refused('invalid_dpop_proof'));
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, htm: 'GET' }))), refused('invalid_dpop_proof'));
      const now = Math.floor(clock.now().getTime() / 1000);
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, iat: now - 120 }))), refused('invalid_dpop_proof'));
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, iat: now + 120 }))), refused('invalid_dpop_proof'));
    });

    test('not a dpop+jwt, a symmetric or unlisted algorithm, a private key in the header, two headers: invalid_dpop_proof', async () => {
      await assert.rejects(verifyDpopProof(a, request(await proof(key, clock.now(), { nonce, typ: 'JWT' }))), refused('invalid_dpop_proof'));
      const rsa = await holder('RS256');
      await assert.rejects(verifyDpopProof(a, request(await proof(rsa, clock.now(), { nonce, alg: 'RS256' }))), refused('invalid_dpop_proof'));
      const secret = new TextEncoder().encode('x'.repeat(32));
      const octJwk: JWK = { kty: 'oct', k: Buffer.from(secret).toString('base64url') };
      const hs = await new SignJWT({ jti: randomBytes(16).toString('base64url'), htm: 'POST', htu: url, nonce })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: octJwk }).setIssuedAt().sign(secret);
      await assert.rejects(verifyDpopProof(a, request(hs)), refused('invalid_dpop_proof'));
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const withPrivate = await proof({ ...key, privateKey }, clock.now(), { nonce, jwk: await exportJWK(privateKey) });
      await assert.rejects(verifyDpopProof(a, request(withPrivate)), refused('invalid_dpop_proof'));
      const good = await proof(key, clock.now(), { nonce });
      await assert.rejects(verifyDpopProof(a, request(`${good}, ${good}`)), refused('invalid_dpop_proof'));
      await assert.rejects(verifyDpopProof(a, request(undefined)), refused('invalid_dpop_proof'));
      // A signature by another key than the header's.
      const other = await holder();
      await assert.rejects(verifyDpopProof(a, request(await proof({ ...key, privateKey: other.privateKey }, clock.now(), { nonce }))), refused('invalid_dpop_proof'));
    });

    test('at a resource: ath must name the access token; refusals are 401 with a DPoP challenge; another key than the token\'s is refused', async () => {
      const accessToken = 'eyJhbGciOiJFUzI1NiJ9.e30.sig';
      const ath = createHash('sha256').update(accessToken).digest('base64url');
      const resource = (p: string) => request(p, { method: 'GET', url: 'https://id.example.uz/userinfo', accessToken, at: 'resource' });
      const ok = await verifyDpopProof(a, resource(await proof(key, clock.now(), { nonce, htm: 'GET', htu: 'https://id.example.uz/userinfo', ath })));
      assertSameKey({ at: 'resource' }, ok, key.jkt);
      await assert.rejects(verifyDpopProof(a, resource(await proof(key, clock.now(), { nonce, htm: 'GET', htu: 'https://id.example.uz/userinfo' }))), (error: unknown) => {
        refused('invalid_dpop_proof', 401)(error);
        assert.match((error as OAuthError).wwwAuthenticate ?? '', /^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 PS256"$/);
        return true;
      });
      await assert.rejects(verifyDpopProof(a, resource(await proof(key, clock.now(), { nonce, htm: 'GET', htu: 'https://id.example.uz/userinfo', ath: ath.slice(1) }))), refused('invalid_dpop_proof', 401));
      const other = await holder();
      assert.throws(() => assertSameKey({ at: 'resource' }, { jkt: other.jkt }, key.jkt), refused('invalid_dpop_proof', 401));
    });
  });
}
