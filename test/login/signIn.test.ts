// Sign-in over HTTP against the real app with real stores. Every rejection asserts its code,
// that no session was created, that the challenge is gone and that one audit event was written
// (test/helpers/signInChecks.ts).
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { canonicalDn } from '../../src/pki/x509/name.ts';
import { pssParameters } from '../../src/pki/algorithms/encodings.ts';
import { algorithmIdentifier, contextConstructed, integer, sequence } from '../../src/pki/asn1/derWrite.ts';
import { OID } from '../../src/pki/asn1/oids.ts';
import { opensslCmsSign } from '../helpers/opensslPki.ts';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { expectProblem, expectRefusal } from '../helpers/signInChecks.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';

const combos = [
  { store: 'redis', database: 'postgres' },
  { store: 'memory', database: 'sqlite' },
] as const;

let pki: TestPki;
let databases: TestDatabase[];

before(async () => {
  pki = await createTestPki();
  databases = await openTestDatabases();
});
after(async () => {
  await Promise.all(databases.map((d) => d.cleanup()));
});

async function challenge(app: TestApp): Promise<{ id: string; challenge: string }> {
  const res = await app.post('/v1/challenges', {});
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; challenge: string };
}

/** Posts `body` and checks the whole refusal; `validRetry` is a correct body for the same challenge (default: `body`). */
const expectRejected = (app: TestApp, body: Record<string, unknown> & { challengeId: string }, status: number, code: string, validRetry?: unknown) =>
  expectRefusal(app, () => app.post('/v1/sessions', body), status, code, validRetry ?? body);

function rawBody(citizen: Citizen, c: { id: string; challenge: string }, algorithm: string, signature?: Uint8Array) {
  const bytes = Buffer.from(c.challenge, 'utf8');
  const sig = signature ?? rawSign(citizen, algorithm, bytes);
  return {
    challengeId: c.id,
    format: 'raw',
    certificates: [citizen.certDer, ...citizen.chain].map((d) => Buffer.from(d).toString('base64')),
    algorithm,
    signature: Buffer.from(sig).toString('base64'),
  };
}

function rawSign(citizen: Citizen, algorithm: string, data: Uint8Array): Uint8Array {
  const hash = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[algorithm.slice(2)] ?? null;
  if (algorithm === 'EdDSA') return sign(null, data, citizen.privateKey);
  if (algorithm.startsWith('ES')) return sign(hash, data, { key: citizen.privateKey, dsaEncoding: 'ieee-p1363' });
  if (algorithm.startsWith('PS')) return sign(hash, data, { key: citizen.privateKey, padding: 6, saltLength: Number(algorithm.slice(2)) / 8 });
  return sign(hash, data, citizen.privateKey);
}

for (const combo of combos) {
  describe(`sign-in (${combo.store} + ${combo.database})`, () => {
    let app: TestApp;
    let alice: Citizen;

    before(async () => {
      const database = databases.find((d) => d.kind === combo.database);
      assert.ok(database);
      app = await startTestApp({ store: combo.store, database, pki });
      alice = await pki.citizen();
    });
    after(async () => app.close());

    test('a citizen signs in with CMS, uses the session, logs out', async () => {
      const c = await challenge(app);
      assert.match(c.challenge, /service: http:\/\/127\.0\.0\.1:0/);
      const res = await app.post('/v1/sessions', cmsBody(alice, c.id, c.challenge));
      assert.equal(res.status, 201, await res.clone().text());
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const body = (await res.json()) as { accessToken: string; tokenType: string; expiresIn: number; sessionId: string; subject: Record<string, unknown> };
      assert.equal(body.tokenType, 'Bearer');
      assert.equal(body.expiresIn, 600);
      assert.match(String(body.subject.pinfl), /^3120199\d{7}$/);
      assert.equal(body.subject.surname, 'Karimov');
      assert.equal(body.subject.givenName, 'Aziz');
      assert.match(String(body.subject.sub), /^pinfl:\d{14}$/);
      const cert = body.subject.certificate as { serialNumber: string; sha256: string; issuer: string };
      assert.equal(cert.serialNumber, alice.serialHex);
      assert.match(cert.sha256, /^[0-9a-f]{64}$/);
      assert.equal(cert.issuer, 'CN=Test Citizen CA,O=Yagona Test,C=UZ');

      const auth = { authorization: `Bearer ${body.accessToken}` };
      const current = await app.get('/v1/sessions/current', auth);
      assert.equal(current.status, 200);
      assert.equal(((await current.json()) as { sessionId: string }).sessionId, body.sessionId);

      const out = await fetch(`${app.url}/v1/sessions/current`, { method: 'DELETE', headers: auth });
      assert.equal(out.status, 204);
      const gone = await app.get('/v1/sessions/current', auth);
      await expectProblem(gone, 401, 'session_invalid');
      assert.equal(gone.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    });

    test('the access token carries the claims docs/api.md lists', async () => {
      const c = await challenge(app);
      const res = await app.post('/v1/sessions', cmsBody(alice, c.id, c.challenge));
      const { accessToken } = (await res.json()) as { accessToken: string };
      const [headerPart, payloadPart] = accessToken.split('.');
      const header = JSON.parse(Buffer.from(headerPart ?? '', 'base64url').toString());
      const claims = JSON.parse(Buffer.from(payloadPart ?? '', 'base64url').toString());
      assert.equal(header.alg, 'ES256');
      assert.ok(app.deps.keys.jwks().keys.some((k) => k.kid === header.kid));
      for (const claim of ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'sid', 'auth_time', 'amr', 'acr', 'cnf']) assert.ok(claim in claims, claim);
      assert.equal(claims.exp - claims.iat, 600);
      const thumb = Buffer.from(claims.cnf['x5t#S256'], 'base64url').toString('hex');
      const { createHash } = await import('node:crypto');
      assert.equal(thumb, createHash('sha256').update(alice.certDer).digest('hex'));
      const jwks = await app.get('/.well-known/jwks.json');
      assert.equal(jwks.status, 200);
    });

    for (const [key, algorithm] of [['ec-p256', 'ES256'], ['ec-p384', 'ES384'], ['ec-p521', 'ES512'], ['rsa-2048', 'RS256'], ['rsa-2048', 'PS256'], ['rsa-2048', 'PS384'], ['ed25519', 'EdDSA']] as const) {
      test(`raw ${algorithm} signature with a ${key} key`, async () => {
        const citizen = await pki.citizen({ key });
        const c = await challenge(app);
        const sessionsBefore = await app.sessionCount();
        const res = await app.post('/v1/sessions', rawBody(citizen, c, algorithm));
        assert.equal(res.status, 201, await res.clone().text());
        const { subject } = (await res.json()) as { subject: { certificate: { serialNumber: string } } };
        assert.equal(subject.certificate.serialNumber, citizen.serialHex, 'the session is the signer\'s');
        assert.equal(await app.sessionCount(), sessionsBefore + 1);
      });
    }

    test('CMS with RSA-PSS, detached, and without signed attributes', async () => {
      const rsa = await pki.citizen({ key: 'rsa-2048' });
      for (const options of [{ pss: true }, { detached: true }, { signedAttributes: false }]) {
        const c = await challenge(app);
        const sessionsBefore = await app.sessionCount();
        const res = await app.post('/v1/sessions', cmsBody(rsa, c.id, c.challenge, options));
        assert.equal(res.status, 201, `${JSON.stringify(options)}: ${await res.clone().text()}`);
        assert.equal(((await res.json()) as { subject: { certificate: { serialNumber: string } } }).subject.certificate.serialNumber, rsa.serialHex);
        assert.equal(await app.sessionCount(), sessionsBefore + 1);
      }
    });

    test('RSA-PSS CMS made by openssl with salt = digest, max (222), 0 and 20, detached and attached', async () => {
      const rsa = await pki.citizen({ key: 'rsa-2048' });
      for (const salt of ['digest', 'max', '0', '20']) {
        for (const attached of [[], ['-nodetach']]) {
          const c = await challenge(app);
          const cms = opensslCmsSign(rsa, Buffer.from(c.challenge, 'utf8'), [...attached, '-keyopt', 'rsa_padding_mode:pss', '-keyopt', `rsa_pss_saltlen:${salt}`]);
          const sessionsBefore = await app.sessionCount();
          const res = await app.post('/v1/sessions', { challengeId: c.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
          assert.equal(res.status, 201, `salt ${salt} ${attached.join('')}: ${await res.clone().text()}`);
          assert.equal(await app.sessionCount(), sessionsBefore + 1);
        }
      }
    });

    test('RSA-PSS parameters that do not hold together are refused: MGF1 hash, unknown MGF, trailerField, salt', async (t) => {
      const rsa = await pki.citizen({ key: 'rsa-2048' });
      const sha256 = algorithmIdentifier(OID.sha256);
      const pss = (...fields: Uint8Array[]) => algorithmIdentifier(OID.rsassaPss, sequence(...fields));
      const mgf1 = contextConstructed(1, algorithmIdentifier(OID.mgf1, sha256));
      // A negative saltLength (DER 0xFF) would ask OpenSSL to detect the salt instead of checking it.
      const negativeSalt = contextConstructed(2, Uint8Array.of(0x02, 0x01, 0xff));
      const cases: Array<{ name: string; status: number; code: string; body: (c: { id: string; challenge: string }) => Record<string, unknown> & { challengeId: string } }> = [
        {
          name: 'MGF1 over SHA-512 for a SHA-256 signature (made by openssl)', status: 400, code: 'malformed_signature',
          body: (c) => ({
            challengeId: c.id, format: 'cms',
            cms: Buffer.from(opensslCmsSign(rsa, Buffer.from(c.challenge, 'utf8'), ['-keyopt', 'rsa_padding_mode:pss', '-keyopt', 'rsa_mgf1_md:sha512'])).toString('base64'),
          }),
        },
        {
          name: 'a mask generation other than MGF1', status: 400, code: 'unsupported_algorithm',
          body: (c) => cmsBody(rsa, c.id, c.challenge, { pss: true, tamper: { signatureAlgorithm: pss(contextConstructed(0, sha256), contextConstructed(1, algorithmIdentifier('1.2.840.113549.1.1.9', sha256)), contextConstructed(2, integer(32))) } }),
        },
        {
          name: 'trailerField 2', status: 400, code: 'malformed_signature',
          body: (c) => cmsBody(rsa, c.id, c.challenge, { pss: true, tamper: { signatureAlgorithm: pss(contextConstructed(0, sha256), mgf1, contextConstructed(2, integer(32)), contextConstructed(3, integer(2))) } }),
        },
        {
          name: 'a negative salt length', status: 400, code: 'malformed_signature',
          body: (c) => cmsBody(rsa, c.id, c.challenge, { pss: true, tamper: { signatureAlgorithm: pss(contextConstructed(0, sha256), mgf1, negativeSalt) } }),
        },
        {
          name: 'a stated salt length (222) other than the signer used (32)', status: 403, code: 'signature_invalid',
          body: (c) => cmsBody(rsa, c.id, c.challenge, { pss: true, tamper: { signatureAlgorithm: algorithmIdentifier(OID.rsassaPss, pssParameters('sha256', 222)) } }),
        },
      ];
      for (const { name, status, code, body } of cases) {
        await t.test(name, async () => {
          const c = await challenge(app);
          await expectRejected(app, body(c), status, code, cmsBody(rsa, c.id, c.challenge, { pss: true }));
        });
      }
    });

    test('an origin key beside a CMS is informative: it neither passes nor fails a sign-in', async () => {
      // The signed content decides (login/origin.ts); a plain challenge stays a plain sign-in
      // whatever origin the body names, ours or another.
      for (const origin of ['http://127.0.0.1:0', 'https://elsewhere.example']) {
        const c = await challenge(app);
        const sessionsBefore = await app.sessionCount();
        const res = await app.post('/v1/sessions', { ...cmsBody(alice, c.id, c.challenge), origin });
        assert.equal(res.status, 201, await res.clone().text());
        assert.equal(await app.sessionCount(), sessionsBefore + 1);
      }
    });

    test('replaying a used challenge: challenge_invalid', async () => {
      const c = await challenge(app);
      const body = cmsBody(alice, c.id, c.challenge);
      const sessionsBefore = await app.sessionCount();
      assert.equal((await app.post('/v1/sessions', body)).status, 201);
      assert.equal(await app.sessionCount(), sessionsBefore + 1);
      // The replay is refused whole: no second session, its own audit event, and it stays refused.
      await expectRejected(app, body, 403, 'challenge_invalid');
    });

    test('an unknown challenge: challenge_invalid', async () => {
      await expectRejected(app, cmsBody(alice, 'AAAAAAAAAAAAAAAAAAAAAAAA', 'nothing'), 403, 'challenge_invalid');
    });

    test('a signature over another challenge: signature_invalid', async () => {
      const c = await challenge(app);
      const other = await challenge(app);
      await expectRejected(app, cmsBody(alice, c.id, other.challenge), 403, 'signature_invalid', cmsBody(alice, c.id, c.challenge));
    });

    test('a self-signed certificate: certificate_untrusted', async () => {
      const { selfSignedCa } = await import('../helpers/testPki.ts');
      const rogue = await selfSignedCa('CN=Test Citizen CA,O=Yagona Test,C=UZ', 'ec-p256', new Date());
      const mallory = await pki.citizen({ issuer: rogue });
      const c = await challenge(app);
      await expectRejected(app, cmsBody(mallory, c.id, c.challenge), 403, 'certificate_untrusted', cmsBody(alice, c.id, c.challenge));
    });

    test('expired and not-yet-valid certificates', async () => {
      const day = 86_400_000;
      const expired = await pki.citizen({ notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - 1000) });
      let c = await challenge(app);
      await expectRejected(app, cmsBody(expired, c.id, c.challenge), 403, 'certificate_expired', cmsBody(alice, c.id, c.challenge));
      const future = await pki.citizen({ notBefore: new Date(Date.now() + 60_000), notAfter: new Date(Date.now() + 10 * day) });
      c = await challenge(app);
      await expectRejected(app, cmsBody(future, c.id, c.challenge), 403, 'certificate_not_yet_valid', cmsBody(alice, c.id, c.challenge));
    });

    test('key usage that forbids sign-in: certificate_usage_invalid', async () => {
      const encipherOnly = await pki.citizen({ keyUsage: ['keyEncipherment'] });
      let c = await challenge(app);
      await expectRejected(app, cmsBody(encipherOnly, c.id, c.challenge), 403, 'certificate_usage_invalid', cmsBody(alice, c.id, c.challenge));
      const tlsServer = await pki.citizen({ extKeyUsage: ['serverAuth'] });
      c = await challenge(app);
      await expectRejected(app, cmsBody(tlsServer, c.id, c.challenge), 403, 'certificate_usage_invalid', cmsBody(alice, c.id, c.challenge));
    });

    test('an RSA-1024 key: weak_algorithm', async () => {
      const weak = await pki.citizen({ key: 'rsa-1024' });
      const c = await challenge(app);
      await expectRejected(app, cmsBody(weak, c.id, c.challenge), 403, 'weak_algorithm', cmsBody(alice, c.id, c.challenge));
    });

    test('a certificate in the local revocation registry: certificate_revoked', async () => {
      const bob = await pki.citizen();
      await app.db.revocations.add({ issuer: canonicalDn('CN=Test Citizen CA, O=Yagona Test, C=UZ'), serialHex: bob.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
      const c = await challenge(app);
      await expectRejected(app, cmsBody(bob, c.id, c.challenge), 403, 'certificate_revoked', cmsBody(alice, c.id, c.challenge));
    });

    test('bodies of the wrong shape: invalid_request', async () => {
      let c = await challenge(app);
      await expectRejected(app, { challengeId: c.id, format: 'pem', cms: 'AA==' }, 400, 'invalid_request', cmsBody(alice, c.id, c.challenge));
      c = await challenge(app);
      await expectRejected(app, { ...cmsBody(alice, c.id, c.challenge), extra: 1 }, 400, 'invalid_request', cmsBody(alice, c.id, c.challenge));
      c = await challenge(app);
      await expectRejected(app, JSON.parse(`{"challengeId":"${c.id}","format":"cms","cms":"AA==","__proto__":{"x":1}}`), 400, 'invalid_request', cmsBody(alice, c.id, c.challenge));
      // `origin` (the agent's informative key) must be a serialized origin, and only beside a CMS.
      for (const origin of ['https://id.example.uz/', 'null', 42, `https://${'a'.repeat(300)}.uz`]) {
        c = await challenge(app);
        await expectRejected(app, { ...cmsBody(alice, c.id, c.challenge), origin }, 400, 'invalid_request', cmsBody(alice, c.id, c.challenge));
      }
      c = await challenge(app);
      await expectRejected(app, { ...rawBody(alice, c, 'ES256'), origin: 'https://id.example.uz' }, 400, 'invalid_request', cmsBody(alice, c.id, c.challenge));
      const noId = await app.post('/v1/sessions', { format: 'cms', cms: 'AA==' });
      await expectProblem(noId, 400, 'invalid_request');
      const notJson = await app.post('/v1/sessions', '{"challengeId":');
      await expectProblem(notJson, 400, 'invalid_request');
    });

    test('broken encodings: malformed_signature', async () => {
      let c = await challenge(app);
      await expectRejected(app, { challengeId: c.id, format: 'cms', cms: '@@not base64@@' }, 400, 'malformed_signature', cmsBody(alice, c.id, c.challenge));
      c = await challenge(app);
      const good = cmsBody(alice, c.id, c.challenge);
      const trailing = Buffer.concat([Buffer.from(good.cms, 'base64'), Buffer.from([0, 0])]).toString('base64');
      await expectRejected(app, { ...good, cms: trailing }, 400, 'malformed_signature', good);
      c = await challenge(app);
      const nested = Buffer.concat([...Array.from({ length: 5000 }, () => Buffer.from([0x30, 0x80]))]).toString('base64');
      await expectRejected(app, { challengeId: c.id, format: 'cms', cms: nested }, 400, 'malformed_signature', cmsBody(alice, c.id, c.challenge));
    });

    test('an algorithm outside the list: unsupported_algorithm', async () => {
      const c = await challenge(app);
      await expectRejected(app, rawBody(alice, c, 'HS256', new Uint8Array(32)), 400, 'unsupported_algorithm', cmsBody(alice, c.id, c.challenge));
    });

    test('a body over 64 KiB: payload_too_large', async () => {
      const c = await challenge(app);
      await expectRejected(app, { challengeId: c.id, format: 'cms', cms: 'A'.repeat(70_000) }, 413, 'payload_too_large', cmsBody(alice, c.id, c.challenge));
    });

    test('bearer tokens that are not ours: session_invalid', async () => {
      const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x","sid":"y"}').toString('base64url')}.`;
      for (const token of ['garbage', none]) {
        const res = await app.get('/v1/sessions/current', { authorization: `Bearer ${token}` });
        await expectProblem(res, 401, 'session_invalid');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      }
      await expectProblem(await app.get('/v1/sessions/current'), 401, 'session_invalid');
    });

    test('health, readiness, metrics and security headers', async () => {
      assert.equal((await app.get('/healthz')).status, 200);
      assert.equal((await app.get('/readyz')).status, 200);
      const metrics = await (await app.get('/metrics')).text();
      assert.match(metrics, /yagona_sign_ins_total\{outcome="success"\} \d+/);
      assert.match(metrics, /yagona_sign_ins_total\{outcome="challenge_invalid"\} \d+/);
      assert.match(metrics, /yagona_sign_in_duration_seconds_bucket/);
      const res = await app.post('/v1/challenges', {});
      assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=31536000; includeSubDomains/);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('x-powered-by'), null);
      assert.ok(res.headers.get('x-request-id'));
    });
  });
}
