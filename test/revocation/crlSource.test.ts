// The CRL source's caches: a CRL one instance fetched is used by another through Redis (no
// second download, no trust in what the URL serves meanwhile), and a CRL near its nextUpdate is
// replaced in the background, off the request path.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { createKeyPair, issueCertificate } from '../../src/pki/issue.ts';
import type { ParsedCertificate } from '../../src/pki/model.ts';
import { createCrlSource } from '../../src/revocation/crlSource.ts';
import type { PathPosition } from '../../src/revocation/sources.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { EphemeralStore } from '../../src/stores/types.ts';
import { makeCrl, startTestHttpServer, type TestHttpServer } from '../helpers/crlServer.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';
import { type Authority, selfSignedCa, subordinateCa } from '../helpers/testPki.ts';

const hour = 3_600_000;
const now = new Date();
let server: TestHttpServer;
let root: Authority;
let ca: Authority;
let anchors: ParsedCertificate[];
const stores: EphemeralStore[] = [];

before(async () => {
  await requireRedis();
  server = await startTestHttpServer();
  root = await selfSignedCa('CN=Cache Test Root,O=Yagona Test,C=UZ', 'ec-p384', now);
  ca = await subordinateCa('CN=Cache Test CA,O=Yagona Test,C=UZ', root, now);
  anchors = [parseCertificate(root.certDer)];
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await server.stop();
});

async function leafAt(path: string): Promise<PathPosition> {
  const pair = await createKeyPair('ec-p256');
  const issued = await issueCertificate({
    subject: 'CN=Cache Citizen,C=UZ', issuer: ca, publicKey: pair.publicKey, crlUrl: server.url(path),
    notBefore: new Date(now.getTime() - hour), notAfter: new Date(now.getTime() + 1000 * hour), keyUsage: ['digitalSignature'],
  });
  const caCert = parseCertificate(ca.certDer);
  return { path: [parseCertificate(issued.der), caCert], index: 0, issuer: caCert };
}

/** One service instance's CRL source, on its own Redis connection with the shared key prefix. */
function instance(prefix: string) {
  const store = createRedisStore(testRedisUrl(), { keyPrefix: prefix });
  stores.push(store);
  return createCrlSource({
    store, anchors, allowedHosts: [`127.0.0.1:${server.port}`], timeoutMs: 2000, maxBytes: 1 << 20,
    log: pino({ level: 'silent' }), now: () => new Date(),
  });
}

test('a CRL fetched by one instance serves another from Redis, whatever the URL serves meanwhile', async () => {
  const prefix = uniqueKeyPrefix('crl-cache');
  const position = await leafAt('/shared.crl');
  server.route('/shared.crl', { body: makeCrl(ca) });
  const a = instance(prefix);
  const b = instance(prefix);
  assert.deepEqual(await a.check(position, new Date()), { status: 'good' });
  assert.equal(server.hits('/shared.crl'), 1);
  // A forged list now sits at the URL; the cached, verified CRL is still the one in force.
  const impostor = await selfSignedCa('CN=Cache Test CA,O=Yagona Test,C=UZ', 'ec-p256', now);
  server.route('/shared.crl', { body: makeCrl(impostor) });
  assert.deepEqual(await b.check(position, new Date()), { status: 'good' });
  assert.equal(server.hits('/shared.crl'), 1, 'the second instance did not download');
  // A third instance with another prefix (another deployment) shares nothing: it downloads, and refuses the forgery.
  const c = instance(uniqueKeyPrefix('crl-cache-other'));
  const verdict = await c.check(position, new Date());
  assert.equal(verdict.status, 'unknown');
  assert.equal(server.hits('/shared.crl'), 2);
});

test('a CRL near its nextUpdate is replaced in the background; the next check sees the new list', async () => {
  const position = await leafAt('/rolling.crl');
  const cert = position.path[0]!;
  const t = Date.now();
  // 24 h lifetime with 30 min left: under the 10 % refresh share.
  server.route('/rolling.crl', { body: makeCrl(ca, { thisUpdate: new Date(t - 23.5 * hour), nextUpdate: new Date(t + 0.5 * hour) }) });
  const source = instance(uniqueKeyPrefix('crl-rolling'));
  assert.deepEqual(await source.check(position, new Date()), { status: 'good' });
  assert.equal(server.hits('/rolling.crl'), 1);
  server.route('/rolling.crl', { body: makeCrl(ca, { revoked: [{ serialHex: cert.serialHex, reason: 'keyCompromise' }] }) });
  // Answered from the cached list while the refresh runs.
  assert.deepEqual(await source.check(position, new Date()), { status: 'good' });
  for (let i = 0; i < 100 && server.hits('/rolling.crl') < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.hits('/rolling.crl'), 2, 'refreshed once in the background');
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(source.check(position, new Date()), (err: { code?: string }) => err.code === 'certificate_revoked');
  assert.equal(server.hits('/rolling.crl'), 2);
});
