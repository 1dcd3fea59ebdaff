// The CRL source below the app: its caches (a CRL one instance fetched is used by another
// through Redis — no second download, no trust in what the URL serves meanwhile — and a CRL near
// its nextUpdate is replaced in the background, off the request path), and the fail modes'
// log: `open` accepts an unknown status but says so.
import { defaultSignatureAlgorithms } from '../../src/pki/algorithms/families/index.ts';
import { defaultFamilyNames } from '../../src/pki/algorithms/familyNames.ts';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { createKeyPair, issueCertificate } from '../../src/pki/issue/issue.ts';
import type { ParsedCertificate } from '../../src/pki/x509/model.ts';
import type { CrlReadReport } from '../../src/revocation/crlReader.ts';
import { createCrlSource } from '../../src/revocation/crlSource.ts';
import { createConfiguredRevocationChecker, type PathPosition } from '../../src/revocation/sources.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { EphemeralStore } from '../../src/stores/types.ts';
import { makeCrl, startTestHttpServer, type TestHttpServer } from '../helpers/crlServer.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';
import { type Authority, selfSignedCa, subordinateCa } from '../helpers/testPki.ts';

const hour = 3_600_000;
const algorithmSettings = { signatureAlgorithms: defaultFamilyNames, signaturePlugins: [] };
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

/** One service instance's CRL source, on its own Redis connection with the shared key prefix; `reads` collects the CRLs it reads. */
function instance(prefix: string, now: () => Date = () => new Date(), reads: CrlReadReport[] = []) {
  const store = createRedisStore(testRedisUrl(), { keyPrefix: prefix });
  stores.push(store);
  return createCrlSource({
    store, anchors, allowedHosts: [`127.0.0.1:${server.port}`], timeoutMs: 10_000, maxBytes: 1 << 20,
    log: pino({ level: 'silent' }), algorithms: defaultSignatureAlgorithms, algorithmSettings, now, onRead: (report) => reads.push(report),
  });
}

/** Waits (30 s at most) until `n` CRLs were read, then lets what follows a background read (keeping it) run. */
async function readsReach(reads: readonly CrlReadReport[], n: number): Promise<void> {
  for (let i = 0; i < 600 && reads.length < n; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(reads.length, n);
  await new Promise((r) => setImmediate(r));
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
  const reads: CrlReadReport[] = [];
  const source = instance(uniqueKeyPrefix('crl-rolling'), undefined, reads);
  assert.deepEqual(await source.check(position, new Date()), { status: 'good' });
  assert.equal(server.hits('/rolling.crl'), 1);
  server.route('/rolling.crl', { body: makeCrl(ca, { revoked: [{ serialHex: cert.serialHex, reason: 'keyCompromise' }] }) });
  // Answered from the cached list while the refresh runs.
  assert.deepEqual(await source.check(position, new Date()), { status: 'good' });
  await readsReach(reads, 2);
  assert.equal(server.hits('/rolling.crl'), 2, 'refreshed once in the background');
  await assert.rejects(source.check(position, new Date()), (err: { code?: string }) => err.code === 'certificate_revoked');
  assert.equal(server.hits('/rolling.crl'), 2);
});

test('a copy an hour old is refreshed in the background: a newer list replaces it, an older (replayed) one does not', async () => {
  const position = await leafAt('/hourly.crl');
  const cert = position.path[0]!;
  let clock = Date.now();
  const reads: CrlReadReport[] = [];
  const prefix = uniqueKeyPrefix('crl-hourly');
  const source = instance(prefix, () => new Date(clock), reads);
  const shared = createRedisStore(testRedisUrl(), { keyPrefix: prefix });
  stores.push(shared);
  const indexKey = `crl:${createHash('sha256').update(server.url('/hourly.crl')).digest('hex')}`;
  const sharedCopy = () => shared.get<{ sha256: string; slices: number }>(indexKey);
  const at = () => new Date(clock);
  const waitForHits = async (n: number) => {
    await readsReach(reads, n);
    assert.equal(server.hits('/hourly.crl'), n);
  };
  server.route('/hourly.crl', { body: makeCrl(ca, { crlNumber: 5 }) });
  assert.deepEqual(await source.check(position, at()), { status: 'good' });
  const first = await sharedCopy();
  assert.equal(typeof await shared.get(`${indexKey}:${first?.sha256}:0`), 'string');
  // Within the hour: no new download.
  clock += 30 * 60_000;
  assert.deepEqual(await source.check(position, at()), { status: 'good' });
  assert.equal(server.hits('/hourly.crl'), 1);
  // The CA publishes early (an urgent revocation); two hours on, the copy is refreshed behind a sign-in.
  server.route('/hourly.crl', { body: makeCrl(ca, { crlNumber: 6, revoked: [{ serialHex: cert.serialHex }] }) });
  clock += 90 * 60_000;
  assert.deepEqual(await source.check(position, at()), { status: 'good' });
  await waitForHits(2);
  await assert.rejects(source.check(position, at()), (err: { code?: string }) => err.code === 'certificate_revoked');
  // Shared now: the new list; the one it replaced is gone from Redis, not left until its nextUpdate.
  // The instance uses the new list before it reaches Redis, so the sharing is awaited (10 s at most).
  const replaced = async () => (await sharedCopy())?.sha256 !== first?.sha256 && await shared.get(`${indexKey}:${first?.sha256}:0`) === undefined;
  for (let i = 0; i < 200 && !await replaced(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.notEqual((await sharedCopy())?.sha256, first?.sha256);
  assert.equal(await shared.get(`${indexKey}:${first?.sha256}:0`), undefined);
  // Someone serves the older list again: it is downloaded on the next refresh and ignored.
  server.route('/hourly.crl', { body: makeCrl(ca, { crlNumber: 5 }) });
  clock += 2 * 60 * 60_000;
  await assert.rejects(source.check(position, at()), (err: { code?: string }) => err.code === 'certificate_revoked');
  await waitForHits(3);
  await assert.rejects(source.check(position, at()), (err: { code?: string }) => err.code === 'certificate_revoked');
});

test('an unknown status: `closed` throws revocation_unknown with Retry-After, `open` accepts and logs a warning naming it', async () => {
  const position = await leafAt('/missing.crl');
  const warnings: Array<{ object: unknown; message: string }> = [];
  const log = { warn: (object: unknown, message: string) => { warnings.push({ object, message }); } } as unknown as ReturnType<typeof pino>;
  const store = createRedisStore(testRedisUrl(), { keyPrefix: uniqueKeyPrefix('crl-modes') });
  stores.push(store);
  const checker = (mode: 'closed' | 'open') => createConfiguredRevocationChecker({
    config: {
      revocationChecks: ['local', 'crl'], revocationFailMode: mode, revocationAllowedHosts: [`127.0.0.1:${server.port}`],
      ocspResponders: {}, ocspTimeoutMs: 1000, crlTimeoutMs: 1000, crlMaxBytes: 1 << 20, ...algorithmSettings,
    },
    algorithms: defaultSignatureAlgorithms,
    // The registry is not what this test is about: it knows no revocation.
    local: { assertNotRevoked: async () => {} },
    store, anchors: [root.certDer], log, clock: { now: () => new Date() },
  });
  // /missing.crl answers 404; the CA's own status has no CRL URL either.
  await assert.rejects(checker('closed').assertNotRevoked({ path: [...position.path], anchor: anchors[0]! }, new Date()), (err: { code?: string; retryAfterSeconds?: number; message?: string }) => {
    assert.equal(err.code, 'revocation_unknown');
    assert.equal(err.retryAfterSeconds, 30);
    assert.match(err.message ?? '', /Cache Citizen.*HTTP 404/);
    return true;
  });
  assert.equal(warnings.length, 0);
  await checker('open').assertNotRevoked({ path: [...position.path], anchor: anchors[0]! }, new Date());
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /REVOCATION_FAIL_MODE=open/);
  assert.match(JSON.stringify(warnings[0]!.object), /Cache Citizen.*HTTP 404/);
});
