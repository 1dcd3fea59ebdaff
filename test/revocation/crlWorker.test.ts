// CRLs are read off the event loop (issue 11 deliverable 5): a 100 000-entry CRL is downloaded,
// parsed and its signature checked in a worker thread, while this thread goes on answering
// HTTP requests and revocation checks from the copy it holds; a read over its budget fails
// closed (revocation_unknown). The evidence is not a latency figure (that is `npm run bench --
// --crl-refresh`) but which thread parsed and what this thread finished while it did.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { threadId } from 'node:worker_threads';
import { pino } from 'pino';
import { defaultSignatureAlgorithms } from '../../src/pki/algorithms/families/index.ts';
import { defaultFamilyNames } from '../../src/pki/algorithms/familyNames.ts';
import { createKeyPair, issueCertificate } from '../../src/pki/issue/issue.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import type { CrlReadReport } from '../../src/revocation/crlReader.ts';
import { createCrlSource } from '../../src/revocation/crlSource.ts';
import type { PathPosition } from '../../src/revocation/sources.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { EphemeralStore } from '../../src/stores/types.ts';
import { makeCrl, startTestHttpServer, type TestHttpServer } from '../helpers/crlServer.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';
import { type Authority, selfSignedCa, subordinateCa } from '../helpers/testPki.ts';

const hour = 3_600_000;
const now = new Date();
const entries = 100_000;
let server: TestHttpServer;
let ca: Authority;
let anchors: ReturnType<typeof parseCertificate>[];
let good: PathPosition;
let revoked: PathPosition;
const stores: EphemeralStore[] = [];

async function citizen(): Promise<PathPosition> {
  const pair = await createKeyPair('ec-p256');
  const issued = await issueCertificate({
    subject: 'CN=Worker Citizen,C=UZ', issuer: ca, publicKey: pair.publicKey, crlUrl: server.url('/national.crl'),
    notBefore: new Date(now.getTime() - hour), notAfter: new Date(now.getTime() + 1000 * hour), keyUsage: ['digitalSignature'],
  });
  const caCert = parseCertificate(ca.certDer);
  return { path: [parseCertificate(issued.der), caCert], index: 0, issuer: caCert };
}

before(async () => {
  await requireRedis();
  server = await startTestHttpServer();
  const root = await selfSignedCa('CN=Worker Test Root,O=Yagona Test,C=UZ', 'ec-p384', now);
  ca = await subordinateCa('CN=Worker Test CA,O=Yagona Test,C=UZ', root, now);
  anchors = [parseCertificate(root.certDer)];
  good = await citizen();
  revoked = await citizen();
  // A national CA's list: 100 000 serials, the revoked citizen's among them; 24 h lifetime
  // with 30 min left, so that every check asks for a refresh (at most once a minute).
  const serials = Array.from({ length: entries - 1 }, (_, i) => ({ serialHex: `7E${(i * 7919).toString(16).padStart(12, '0')}`, reason: 'keyCompromise' }));
  server.route('/national.crl', {
    body: makeCrl(ca, {
      revoked: [...serials, { serialHex: revoked.path[0]!.serialHex, reason: 'keyCompromise' }],
      thisUpdate: new Date(now.getTime() - 23.5 * hour), nextUpdate: new Date(now.getTime() + 0.5 * hour),
    }),
  });
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await server.stop();
});

function source(prefix: string, timeoutMs: number, reads: CrlReadReport[]) {
  const store = createRedisStore(testRedisUrl(), { keyPrefix: prefix });
  stores.push(store);
  return createCrlSource({
    store, anchors, allowedHosts: [`127.0.0.1:${server.port}`], timeoutMs, maxBytes: 32 << 20, log: pino({ level: 'silent' }),
    algorithms: defaultSignatureAlgorithms, algorithmSettings: { signatureAlgorithms: defaultFamilyNames, signaturePlugins: [] },
    now: () => new Date(), onRead: (report) => reads.push(report),
  });
}

const clock = () => performance.timeOrigin + performance.now();

test('a 100 000-entry CRL is read in a worker thread; requests and checks made meanwhile finish before its parse does', async () => {
  const reads: CrlReadReport[] = [];
  const crl = source(uniqueKeyPrefix('crl-worker'), 60_000, reads);
  assert.deepEqual(await crl.check(good, new Date()), { status: 'good' });
  assert.equal(reads.length, 1);
  assert.notEqual(reads[0]!.threadId, threadId, 'parsed in another thread');
  assert.equal(reads[0]!.entries, entries);
  await assert.rejects(crl.check(revoked, new Date()), (err: { code?: string }) => err.code === 'certificate_revoked');

  // An HTTP server of this thread: answering needs this event loop.
  const ping = createServer((_req, res) => res.end('pong'));
  ping.listen(0, '127.0.0.1');
  await new Promise((resolve) => ping.once('listening', resolve));
  const pingUrl = `http://127.0.0.1:${(ping.address() as AddressInfo).port}/`;
  try {
    // This check starts the background refresh and is answered from the held copy.
    assert.deepEqual(await crl.check(good, new Date()), { status: 'good' });
    const served: Array<{ startedAt: number; endedAt: number }> = [];
    for (let i = 0; i < 20_000 && reads.length < 2; i++) {
      const startedAt = clock();
      assert.equal(await (await fetch(pingUrl)).text(), 'pong');
      assert.deepEqual(await crl.check(good, new Date()), { status: 'good' });
      await assert.rejects(crl.check(revoked, new Date()), (err: { code?: string }) => err.code === 'certificate_revoked');
      served.push({ startedAt, endedAt: clock() });
    }
    assert.equal(reads.length, 2, 'the refresh finished');
    const refresh = reads[1]!;
    assert.notEqual(refresh.threadId, threadId);
    assert.equal(server.hits('/national.crl'), 2);
    // Had the parse run on this thread, nothing could have started and finished within it.
    const during = served.filter((r) => r.startedAt >= refresh.startedAt && r.endedAt <= refresh.endedAt);
    assert.ok(during.length >= 10, `${during.length} of ${served.length} requests were served within the ${Math.round(refresh.endedAt - refresh.startedAt)} ms parse`);
  } finally {
    ping.closeAllConnections();
    await new Promise((resolve) => ping.close(resolve));
  }
});

test('a CRL that cannot be read within its budget fails closed (unknown); with time, the shared copy decides without a download', async () => {
  const prefix = uniqueKeyPrefix('crl-worker-budget');
  // One instance reads and shares the list; another, with 50 ms to parse it, cannot.
  assert.deepEqual(await source(prefix, 60_000, []).check(good, new Date()), { status: 'good' });
  const hits = server.hits('/national.crl');
  const reads: CrlReadReport[] = [];
  const hurried = source(prefix, 50, reads);
  for (const position of [good, revoked]) {
    const verdict = await hurried.check(position, new Date());
    assert.equal(verdict.status, 'unknown');
    assert.match((verdict as { reason: string }).reason, /the shared copy of http:\/\/127\.0\.0\.1:\d+\/national\.crl could not be read within 50 ms/);
  }
  assert.equal(reads.length, 0);
  // With time enough, the shared copy (4.5 MB in slices) decides without a download.
  const patient = source(prefix, 60_000, reads);
  await assert.rejects(patient.check(revoked, new Date()), (err: { code?: string }) => err.code === 'certificate_revoked');
  assert.equal(reads.length, 1);
  assert.equal(server.hits('/national.crl'), hits, 'the shared copy was used, not the URL');
});
