// CRL revocation through the real app (REVOCATION_CHECKS=local,crl): CRLs made by `openssl ca
// -gencrl` and served from a loopback HTTP server this test runs. docs/security-cases.md §D 54, 66, 67,
// 71 and §C 50 / §D 65 (no request to a host that is not allowed), in both fail modes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { createKeyPair, issueCertificate } from '../../src/pki/issue/issue.ts';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import { makeCrl, startTestHttpServer, type TestHttpServer } from '../helpers/crlServer.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { expectAccepted, expectRejected, type Signer } from '../helpers/signInChecks.ts';
import { type Authority, selfSignedCa, subordinateCa, type TestPki } from '../helpers/testPki.ts';

const day = 86_400_000;
const now = new Date();

let server: TestHttpServer;
let databases: TestDatabase[];
// Nothing listens on port 1 and no unprivileged test can take it: connections are refused.
const deadPort = 1;
let root: Authority;
let ca: Authority;
let revokedCa: Authority;
let pki: TestPki;
let counter = 0;

async function citizen(issuer: Authority, crlUrl: string | undefined): Promise<Signer & { serialHex: string }> {
  const pair = await createKeyPair('ec-p256');
  counter += 1;
  const issued = await issueCertificate({
    subject: `CN=CRL Citizen ${counter},1.2.860.3.16.1.2=4120199${String(counter).padStart(7, '0')},C=UZ`,
    notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 365 * day),
    keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'],
    issuer, publicKey: pair.publicKey, ...(crlUrl === undefined ? {} : { crlUrl }),
  });
  return { certDer: issued.der, privateKey: pair.privateKey, chain: [issuer.certDer], serialHex: issued.serialHex };
}

const serialOf = (a: { certDer: Uint8Array }) => parseCertificate(a.certDer).serialHex;

before(async () => {
  databases = await openTestDatabases();
  server = await startTestHttpServer();
  root = await selfSignedCa('CN=CRL Test Root,O=Yagona Test,C=UZ', 'ec-p384', now);
  ca = await subordinateCa('CN=CRL Test Citizen CA,O=Yagona Test,C=UZ', root, now, { crlUrl: server.url('/root.crl') });
  revokedCa = await subordinateCa('CN=CRL Test Withdrawn CA,O=Yagona Test,C=UZ', root, now, { crlUrl: server.url('/root.crl') });
  pki = { root, ca, anchors: [root.certDer], intermediates: [], citizen: () => Promise.reject(new Error('not used')) };
  // The root's CRL (an ARL) withdraws one intermediate (docs/security-cases.md §D 71).
  server.route('/root.crl', { body: makeCrl(root, { revoked: [{ serialHex: serialOf(revokedCa), reason: 'CACompromise' }] }) });
  server.route('/withdrawn.crl', { body: makeCrl(revokedCa) });
});
after(async () => {
  await server.stop();
  await Promise.all(databases.map((d) => d.cleanup()));
});

function env(mode: 'closed' | 'open', extra: Record<string, string> = {}): Record<string, string> {
  return {
    REVOCATION_CHECKS: 'local,crl', REVOCATION_FAIL_MODE: mode, CRL_TIMEOUT_MS: '1500',
    REVOCATION_ALLOWED_HOSTS: `127.0.0.1:${server.port},127.0.0.1:${deadPort}`, ...extra,
  };
}

describe('CRL revocation (memory + sqlite)', () => {
  let closed: TestApp;
  let open: TestApp;
  let alice: Awaited<ReturnType<typeof citizen>>;
  let revokedBob: Awaited<ReturnType<typeof citizen>>;

  before(async () => {
    const database = databases.find((d) => d.kind === 'sqlite')!;
    // `local` left out here: the registry applies all the same (README, "Revocation").
    closed = await startTestApp({ store: 'memory', database, pki, env: env('closed', { REVOCATION_CHECKS: 'crl' }) });
    open = await startTestApp({ store: 'memory', database, pki, env: env('open') });
    alice = await citizen(ca, server.url('/ca.crl'));
    revokedBob = await citizen(ca, server.url('/ca.crl'));
    server.route('/ca.crl', { body: makeCrl(ca, { revoked: [{ serialHex: revokedBob.serialHex, reason: 'keyCompromise' }] }) });
  });
  after(async () => {
    await closed.close();
    await open.close();
  });

  test('a certificate its CA has not revoked signs in; the CRLs are fetched once and cached until nextUpdate', async () => {
    const before = { root: server.hits('/root.crl'), ca: server.hits('/ca.crl') };
    const reads = async () => Number(/^yagona_crl_read_seconds_count (\d+)$/m.exec(await (await closed.get('/metrics')).text())?.[1]);
    const readsBefore = await reads();
    await expectAccepted(closed, alice);
    assert.equal(server.hits('/ca.crl'), before.ca + 1);
    assert.equal(server.hits('/root.crl'), before.root + 1, 'the intermediate is checked on the root\'s CRL');
    await expectAccepted(closed, alice);
    assert.deepEqual({ root: server.hits('/root.crl'), ca: server.hits('/ca.crl') }, { root: before.root + 1, ca: before.ca + 1 });
    // Each read is in the metrics (how long its thread took), once per list.
    assert.equal(await reads(), readsBefore + 2);
    assert.match(await (await closed.get('/metrics')).text(), /^yagona_crl_entries 1$/m);
    // Shared with other instances through the ephemeral store, with a TTL to nextUpdate.
    const key = `crl:${createHash('sha256').update(server.url('/ca.crl')).digest('hex')}`;
    assert.ok(await closed.ephemeral.get(key));
  });

  test('a certificate on its CA\'s CRL is certificate_revoked, in both fail modes', async () => {
    const detail = await expectRejected(closed, revokedBob, 403, 'certificate_revoked');
    assert.match(detail, /keyCompromise/);
    await expectRejected(open, revokedBob, 403, 'certificate_revoked');
  });

  test('an intermediate withdrawn on the root\'s CRL rejects every citizen under it (§D 71)', async () => {
    const carol = await citizen(revokedCa, server.url('/withdrawn.crl'));
    const detail = await expectRejected(closed, carol, 403, 'certificate_revoked');
    assert.match(detail, /Withdrawn CA/);
    await expectRejected(open, carol, 403, 'certificate_revoked');
  });

  test('the local registry applies first, even when REVOCATION_CHECKS omits it: revoked there, good on the CRL → certificate_revoked (§D 54)', async () => {
    const dave = await citizen(ca, server.url('/ca.crl'));
    await expectAccepted(closed, dave);
    const sessions = await closed.sessionCount();
    const cert = parseCertificate(dave.certDer);
    await closed.db.revocations.add({ issuer: cert.issuer.canonical, serialHex: cert.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
    // The revocation also ends the session just made (the watcher's job); let it, so the count below is stable.
    for (let i = 0; i < 100 && (await closed.sessionCount()) === sessions; i++) await new Promise((r) => setTimeout(r, 50));
    await expectRejected(closed, dave, 403, 'certificate_revoked');
  });

  test('CRL server unreachable: closed → 503 revocation_unknown with Retry-After; open → accepted', async () => {
    const erin = await citizen(ca, `http://127.0.0.1:${deadPort}/ca.crl`);
    const detail = await expectRejected(closed, erin, 503, 'revocation_unknown');
    assert.match(detail, /unreachable/);
    await expectAccepted(open, erin);
  });

  test('a stale CRL (nextUpdate passed): closed → 503; open → accepted (§D 67)', async () => {
    server.route('/stale.crl', { body: makeCrl(ca, { thisUpdate: new Date(now.getTime() - 8 * day), nextUpdate: new Date(now.getTime() - day) }) });
    const frank = await citizen(ca, server.url('/stale.crl'));
    const detail = await expectRejected(closed, frank, 503, 'revocation_unknown');
    assert.match(detail, /stale/);
    await expectAccepted(open, frank);
    assert.equal(await closed.ephemeral.get(`crl:${createHash('sha256').update(server.url('/stale.crl')).digest('hex')}`), undefined, 'a stale CRL is not cached');
  });

  test('a CRL signed by the wrong key (same issuer name) is discarded: closed → 503; open → accepted (§D 66)', async () => {
    const impostor = await selfSignedCa('CN=CRL Test Citizen CA,O=Yagona Test,C=UZ', 'ec-p256', now);
    // The real CRL would list her; the forged one, "from" the same CA, lists nobody.
    const grace = await citizen(ca, server.url('/forged.crl'));
    server.route('/forged.crl', { body: makeCrl({ certDer: impostor.certDer, privateKey: impostor.privateKey }) });
    const detail = await expectRejected(closed, grace, 503, 'revocation_unknown');
    assert.match(detail, /not signed by a key entitled/);
    await expectAccepted(open, grace);
    assert.equal(await closed.ephemeral.get(`crl:${createHash('sha256').update(server.url('/forged.crl')).digest('hex')}`), undefined, 'a forged CRL is not cached');
  });

  test('a CRL URL on a host that is not allowed is never requested: closed → 503; open → accepted (§C 50, §D 65)', async () => {
    server.route('/elsewhere.crl', { body: makeCrl(ca) });
    const heidi = await citizen(ca, `http://localhost:${server.port}/elsewhere.crl`);
    const detail = await expectRejected(closed, heidi, 503, 'revocation_unknown');
    assert.match(detail, /not in REVOCATION_ALLOWED_HOSTS/);
    await expectAccepted(open, heidi);
    assert.equal(server.hits('/elsewhere.crl'), 0, 'no request left the service');
  });

  test('a CRL from another issuer at the distribution point proves nothing (§D 68): 503 when closed', async () => {
    // The root's own CRL (it does not list the citizen, and cannot: it is not her issuer's).
    server.route('/wrong-issuer.crl', { body: makeCrl(root) });
    const olga = await citizen(ca, server.url('/wrong-issuer.crl'));
    assert.match(await expectRejected(closed, olga, 503, 'revocation_unknown'), /no usable CRL from its issuer/);
  });

  test('a certificate that does not chain to an anchor makes no request, however its CRL URL is set (§C 50)', async () => {
    const stranger = await selfSignedCa('CN=CRL Test Root,O=Yagona Test,C=UZ', 'ec-p384', now);
    server.route('/probe.crl', { body: makeCrl(ca) });
    const mallory = await citizen(stranger, server.url('/probe.crl'));
    await expectRejected(closed, mallory, 403, 'certificate_untrusted');
    await expectRejected(open, mallory, 403, 'certificate_untrusted');
    assert.equal(server.hits('/probe.crl'), 0);
  });

  test('a redirect is not followed, an HTML page is not a CRL, a certificate without a CRL URL has no status: 503 when closed', async () => {
    server.route('/moved.crl', { redirectTo: server.url('/ca.crl') });
    server.route('/page.crl', { body: '<html>maintenance</html>', contentType: 'text/html' });
    const viaRedirect = await citizen(ca, server.url('/moved.crl'));
    const viaHtml = await citizen(ca, server.url('/page.crl'));
    const withoutUrl = await citizen(ca, undefined);
    const caHits = server.hits('/ca.crl');
    assert.match(await expectRejected(closed, viaRedirect, 503, 'revocation_unknown'), /redirected \(not followed\)/);
    assert.equal(server.hits('/ca.crl'), caHits, 'the redirect target was not fetched');
    assert.match(await expectRejected(closed, viaHtml, 503, 'revocation_unknown'), /not a DER CRL/);
    assert.match(await expectRejected(closed, withoutUrl, 503, 'revocation_unknown'), /no http CRL distribution point/);
    await expectAccepted(open, withoutUrl);
  });

  test('a CRL server that never answers is cut off at CRL_TIMEOUT_MS: 503 when closed', async () => {
    server.route('/slow.crl', { hang: true });
    const ivan = await citizen(ca, server.url('/slow.crl'));
    // The deadline itself says it fired (no wall-clock bound: the reading thread's start varies with the machine's load).
    assert.match(await expectRejected(closed, ivan, 503, 'revocation_unknown'), /did not answer within 1500 ms/);
    assert.equal(server.hits('/slow.crl'), 1);
  });

  test('a CMS carrying a CRL that omits the revoked certificate does not change the outcome (§B 26)', async () => {
    // Properly signed by the CA, newer than the served one, and listing nobody: still not trusted.
    const embedded = makeCrl(ca, { thisUpdate: new Date(Date.now() - 1000) });
    await expectRejected(closed, revokedBob, 403, 'certificate_revoked', { tamper: { revocationInfo: [embedded] } });
  });
});

describe('CRL size cap (memory + sqlite)', () => {
  test('a CRL larger than CRL_MAX_BYTES is refused: 503 when closed', async () => {
    const database = databases.find((d) => d.kind === 'sqlite')!;
    const app = await startTestApp({ store: 'memory', database, pki, env: env('closed', { CRL_MAX_BYTES: '4096' }) });
    try {
      const revoked = Array.from({ length: 300 }, (_, i) => ({ serialHex: (0x100000 + i).toString(16) }));
      const big = makeCrl(ca, { revoked });
      assert.ok(big.length > 4096);
      server.route('/big.crl', { body: big });
      const judy = await citizen(ca, server.url('/big.crl'));
      assert.match(await expectRejected(app, judy, 503, 'revocation_unknown'), /more than the 4096 bytes allowed/);
    } finally {
      await app.close();
    }
  });
});

describe('CRL revocation (redis + postgres)', () => {
  test('good and revoked through Redis and PostgreSQL; the CRL lands in Redis until nextUpdate', async () => {
    const database = databases.find((d) => d.kind === 'postgres')!;
    const app = await startTestApp({ store: 'redis', database, pki, env: env('closed') });
    try {
      const kim = await citizen(ca, server.url('/ca2.crl'));
      const revokedLeo = await citizen(ca, server.url('/ca2.crl'));
      server.route('/ca2.crl', { body: makeCrl(ca, { revoked: [{ serialHex: revokedLeo.serialHex }] }) });
      await expectAccepted(app, kim);
      await expectRejected(app, revokedLeo, 403, 'certificate_revoked');
      // An index naming the DER's hash and its slices of base64 (src/revocation/crlSource.ts).
      const key = `crl:${createHash('sha256').update(server.url('/ca2.crl')).digest('hex')}`;
      const stored = await app.ephemeral.get<{ sha256: string; slices: number }>(key);
      assert.equal(stored?.slices, 1);
      const der = Buffer.from((await app.ephemeral.get<string>(`${key}:${stored.sha256}:0`))!, 'base64');
      assert.equal(createHash('sha256').update(der).digest('hex'), stored.sha256);
    } finally {
      await app.close();
    }
  });
});
