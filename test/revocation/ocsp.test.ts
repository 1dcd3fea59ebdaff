// OCSP revocation through the real app (REVOCATION_CHECKS=local,ocsp) against real `openssl
// ocsp` responders: the root answers for its intermediates itself (designated in
// OCSP_RESPONDERS), the citizen CA through a delegated responder named in the citizens' AIA.
// docs/security-cases.md §D 54–65, 71 and §B 26, in both fail modes where the mode matters.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { oid, tlv } from '../../src/pki/asn1/derWrite.ts';
import { createKeyPair, issueCertificate } from '../../src/pki/issue/issue.ts';
import { buildOcspRequest } from '../../src/pki/ocsp/ocsp.ts';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import { makeCrl, startTestHttpServer, type TestHttpServer } from '../helpers/crlServer.ts';
import { type IndexEntry, type OcspResponder, startOcspResponder } from '../helpers/ocspResponder.ts';
import { freePort } from '../helpers/ports.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { expectAccepted, expectRejected, type Signer } from '../helpers/signInChecks.ts';
import { type Authority, selfSignedCa, subordinateCa, type TestPki } from '../helpers/testPki.ts';

const day = 86_400_000;
const now = new Date();
type Citizen = Signer & { serialHex: string };

let databases: TestDatabase[];
let http: TestHttpServer;
// Nothing listens on port 1 and no unprivileged test can take it: connections are refused.
const deadPort = 1;
let root: Authority;
let ca: Authority;
let withdrawnCa: Authority;
let otherCa: Authority;
let pki: TestPki;
let rootResponder: OcspResponder;
let caResponder: OcspResponder;
let caPort: number;
const responders: OcspResponder[] = [];
let counter = 0;

async function citizen(issuer: Authority, ocspUrl: string | undefined, extra: { crlUrl?: string } = {}): Promise<Citizen> {
  const pair = await createKeyPair('ec-p256');
  counter += 1;
  const issued = await issueCertificate({
    subject: `CN=OCSP Citizen ${counter},1.2.860.3.16.1.2=5120199${String(counter).padStart(7, '0')},C=UZ`,
    notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 365 * day),
    keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'],
    issuer, publicKey: pair.publicKey, ...(ocspUrl === undefined ? {} : { ocspUrl }), ...extra,
  });
  return { certDer: issued.der, privateKey: pair.privateKey, chain: [issuer.certDer], serialHex: issued.serialHex };
}

/** A responder certificate issued by `issuer`; `ocspSigning` false leaves the EKU out. */
async function responderCert(issuer: Authority, name: string, ocspSigning = true): Promise<Authority> {
  const pair = await createKeyPair('ec-p256');
  const issued = await issueCertificate({
    subject: `CN=${name},O=Yagona Test,C=UZ`, issuer, publicKey: pair.publicKey,
    notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 30 * day),
    keyUsage: ['digitalSignature'], ...(ocspSigning ? { extKeyUsage: ['ocspSigning'] } : { extKeyUsage: ['clientAuth'] }),
  });
  return { certDer: issued.der, privateKey: pair.privateKey };
}

async function responder(options: Parameters<typeof startOcspResponder>[0]): Promise<OcspResponder> {
  const started = await startOcspResponder(options);
  responders.push(started);
  return started;
}

const serialOf = (a: { certDer: Uint8Array }) => parseCertificate(a.certDer).serialHex;
const good = (c: { serialHex: string }): IndexEntry => ({ serialHex: c.serialHex, status: 'good' });

// Citizens of the shared citizen-CA responder, made before it starts (their AIA names its port).
let alice: Citizen;
let revokedBob: Citizen;
let unknownCarol: Citizen;
let dave: Citizen;
let revokedPeter: Citizen;

before(async () => {
  databases = await openTestDatabases();
  http = await startTestHttpServer();
  caPort = await freePort();
  root = await selfSignedCa('CN=OCSP Test Root,O=Yagona Test,C=UZ', 'ec-p384', now);
  ca = await subordinateCa('CN=OCSP Test Citizen CA,O=Yagona Test,C=UZ', root, now);
  withdrawnCa = await subordinateCa('CN=OCSP Test Withdrawn CA,O=Yagona Test,C=UZ', root, now);
  otherCa = await subordinateCa('CN=OCSP Test Other CA,O=Yagona Test,C=UZ', root, now);
  pki = { root, ca, anchors: [root.certDer], intermediates: [], citizen: () => Promise.reject(new Error('not used')) };
  // The root signs its own answers (RFC 6960 §4.2.2.2: the issuing CA itself).
  rootResponder = await responder({
    ca: root, signer: root, nextUpdateMinutes: 10,
    entries: [{ serialHex: serialOf(ca), status: 'good' }, { serialHex: serialOf(otherCa), status: 'good' }, { serialHex: serialOf(withdrawnCa), status: 'revoked', reason: 'CACompromise' }],
  });
  const caUrl = `http://127.0.0.1:${caPort}/`;
  [alice, revokedBob, unknownCarol, dave, revokedPeter] = await Promise.all([citizen(ca, caUrl), citizen(ca, caUrl), citizen(ca, caUrl), citizen(ca, caUrl), citizen(ca, caUrl)]);
  caResponder = await responder({
    ca, signer: await responderCert(ca, 'OCSP Test Citizen CA Responder'), port: caPort, nextUpdateMinutes: 10,
    entries: [good(alice), { serialHex: revokedBob.serialHex, status: 'revoked', reason: 'keyCompromise' }, good(dave), { serialHex: revokedPeter.serialHex, status: 'revoked' }],
  });
});
after(async () => {
  await Promise.all(responders.map((r) => r.stop()));
  await http.stop();
  await Promise.all(databases.map((d) => d.cleanup()));
});

function env(mode: 'closed' | 'open', extra: Record<string, string> = {}): Record<string, string> {
  return {
    REVOCATION_CHECKS: 'local,ocsp', REVOCATION_FAIL_MODE: mode, OCSP_TIMEOUT_MS: '1000',
    REVOCATION_ALLOWED_HOSTS: `127.0.0.1:${caPort},127.0.0.1:${deadPort},127.0.0.1:${http.port}`,
    OCSP_RESPONDERS: JSON.stringify({ 'CN=OCSP Test Root,O=Yagona Test,C=UZ': rootResponder.url }),
    ...extra,
  };
}

const sqlite = () => databases.find((d) => d.kind === 'sqlite')!;

describe('OCSP revocation (memory + sqlite)', () => {
  let closed: TestApp;
  let open: TestApp;

  before(async () => {
    closed = await startTestApp({ store: 'memory', database: sqlite(), pki, env: env('closed') });
    open = await startTestApp({ store: 'memory', database: sqlite(), pki, env: env('open') });
  });
  after(async () => {
    await closed.close();
    await open.close();
  });

  test('good from the delegated responder (leaf) and from the root itself (intermediate): signed in', async () => {
    await expectAccepted(closed, alice);
  });

  test('revoked (§D 55), in both fail modes: certificate_revoked', async () => {
    assert.match(await expectRejected(closed, revokedBob, 403, 'certificate_revoked'), /OCSP responder/);
    await expectRejected(open, revokedBob, 403, 'certificate_revoked');
    // Without a reason code the answer is just as final.
    await expectRejected(closed, revokedPeter, 403, 'certificate_revoked');
  });

  test('unknown to the CA\'s responder counts as revoked (§D 56), in both fail modes', async () => {
    assert.match(await expectRejected(closed, unknownCarol, 403, 'certificate_revoked'), /does not know/);
    await expectRejected(open, unknownCarol, 403, 'certificate_revoked');
  });

  test('an intermediate the root\'s responder reports revoked rejects the citizens under it (§D 71)', async () => {
    const erin = await citizen(withdrawnCa, undefined);
    assert.match(await expectRejected(closed, erin, 403, 'certificate_revoked'), /Withdrawn CA/);
    await expectRejected(open, erin, 403, 'certificate_revoked');
  });

  test('the local registry applies first: revoked there, good by OCSP → certificate_revoked (§D 54)', async () => {
    const cert = parseCertificate(dave.certDer);
    await closed.db.revocations.add({ issuer: cert.issuer.canonical, serialHex: cert.serialHex, reason: 'keyCompromise', revokedAt: new Date(), source: 'test' });
    await expectRejected(closed, dave, 403, 'certificate_revoked');
  });

  test('responder down: closed → 503 revocation_unknown with Retry-After; open → accepted', async () => {
    const frank = await citizen(ca, `http://127.0.0.1:${deadPort}/`);
    assert.match(await expectRejected(closed, frank, 503, 'revocation_unknown'), /unreachable/);
    await expectAccepted(open, frank);
  });

  test('a responder not authorised by the CA (§D 57): a citizen certificate of the same CA, a delegate of another CA', async () => {
    const port1 = await freePort();
    const port2 = await freePort();
    const byCitizen = await citizen(ca, `http://127.0.0.1:${port1}/`);
    const byOtherDelegate = await citizen(ca, `http://127.0.0.1:${port2}/`);
    await responder({ ca, signer: await responderCert(ca, 'Not A Responder', false), port: port1, entries: [good(byCitizen)] });
    await responder({ ca, signer: await responderCert(otherCa, 'Other CA Responder'), port: port2, entries: [good(byOtherDelegate)] });
    const app = await startTestApp({ store: 'memory', database: sqlite(), pki, env: env('closed', { REVOCATION_ALLOWED_HOSTS: `127.0.0.1:${port1},127.0.0.1:${port2}` }) });
    const appOpen = await startTestApp({ store: 'memory', database: sqlite(), pki, env: env('open', { REVOCATION_ALLOWED_HOSTS: `127.0.0.1:${port1},127.0.0.1:${port2}` }) });
    try {
      assert.match(await expectRejected(app, byCitizen, 503, 'revocation_unknown'), /lacks extendedKeyUsage id-kp-OCSPSigning/);
      assert.match(await expectRejected(app, byOtherDelegate, 503, 'revocation_unknown'), /not by the CA/);
      await expectAccepted(appOpen, byCitizen);
      await expectAccepted(appOpen, byOtherDelegate);
    } finally {
      await app.close();
      await appOpen.close();
    }
  });

  test('the AIA host is not allowed: never asked (§D 65); closed → 503, open → accepted', async () => {
    http.route('/elsewhere', { body: 'never', contentType: 'application/ocsp-response' });
    const grace = await citizen(ca, `http://localhost:${http.port}/elsewhere`);
    assert.match(await expectRejected(closed, grace, 503, 'revocation_unknown'), /not in REVOCATION_ALLOWED_HOSTS/);
    await expectAccepted(open, grace);
    assert.equal(http.hits('/elsewhere'), 0);
  });

  test('redirect not followed, HTML instead of a response, an oversized body, a hang cut at OCSP_TIMEOUT_MS: 503 when closed', async () => {
    http.route('/moved', { redirectTo: caResponder.url });
    http.route('/page', { body: '<html>down for maintenance</html>', contentType: 'text/html' });
    http.route('/huge', { body: new Uint8Array(100 * 1024), contentType: 'application/ocsp-response' });
    http.route('/hang', { hang: true });
    const cases: Array<[string, RegExp]> = [
      ['/moved', /redirected \(not followed\)/],
      ['/page', /text\/html, not application\/ocsp-response/],
      ['/huge', /more than the 65536 bytes allowed/],
      ['/hang', /did not answer within 1000 ms/],
    ];
    for (const [path, reason] of cases) {
      const someone = await citizen(ca, http.url(path));
      assert.match(await expectRejected(closed, someone, 503, 'revocation_unknown'), reason);
    }
  });

  test('a CMS carrying a genuine "good" OCSP response for a revoked certificate does not change the outcome (§B 26)', async () => {
    // A genuine response from the CA's delegate that says "good" for Bob (an index that still lists him as valid).
    const port = await freePort();
    const stale = await responder({ ca, signer: await responderCert(ca, 'Old Responder'), port, entries: [good(revokedBob)] });
    const request = buildOcspRequest(parseCertificate(revokedBob.certDer), parseCertificate(ca.certDer), new Uint8Array(randomBytes(32)));
    const res = await fetch(stale.url, { method: 'POST', body: Buffer.from(request.der), headers: { 'content-type': 'application/ocsp-request' } });
    const ocspGood = new Uint8Array(await res.arrayBuffer());
    // RevocationInfoChoice other [1] { id-ri-ocsp-response (RFC 5940 §2.2), OCSPResponse }; SignedData v5.
    const bag = tlv(0xa1, oid('1.3.6.1.5.5.7.16.2'), ocspGood);
    await expectRejected(closed, revokedBob, 403, 'certificate_revoked', { tamper: { revocationInfo: [bag], signedDataVersion: 5 } });
  });
});

describe('OCSP freshness and caching (memory + sqlite)', () => {
  // The app's clock runs ahead of or behind the responder's: its answers look old or early.
  const shifted = (ms: number): Clock => ({ now: () => new Date(Date.now() + ms) });

  test('a response 30 minutes old is stale (§D 59): closed → 503, open → accepted', async () => {
    const ahead = shifted(30 * 60_000);
    const app = await startTestApp({ store: 'memory', database: sqlite(), pki, clock: ahead, env: env('closed') });
    const appOpen = await startTestApp({ store: 'memory', database: sqlite(), pki, clock: ahead, env: env('open') });
    try {
      assert.match(await expectRejected(app, alice, 503, 'revocation_unknown'), /stale \(thisUpdate/);
      await expectAccepted(appOpen, alice);
    } finally {
      await app.close();
      await appOpen.close();
    }
  });

  test('a response whose thisUpdate is 30 minutes ahead is refused (§D 61)', async () => {
    const app = await startTestApp({ store: 'memory', database: sqlite(), pki, clock: shifted(-30 * 60_000), env: env('closed') });
    try {
      assert.match(await expectRejected(app, alice, 503, 'revocation_unknown'), /lies in the future/);
    } finally {
      await app.close();
    }
  });

  test('"good" with a nextUpdate is cached until then; without a nextUpdate it is not', async () => {
    const cachedPort = await freePort();
    const uncachedPort = await freePort();
    const heidi = await citizen(ca, `http://127.0.0.1:${cachedPort}/`);
    const ivan = await citizen(ca, `http://127.0.0.1:${uncachedPort}/`);
    const delegate = await responderCert(ca, 'Cache Test Responder');
    const withNext = await startOcspResponder({ ca, signer: delegate, port: cachedPort, nextUpdateMinutes: 5, entries: [good(heidi)] });
    const withoutNext = await startOcspResponder({ ca, signer: delegate, port: uncachedPort, entries: [good(ivan)] });
    const app = await startTestApp({
      store: 'memory', database: sqlite(), pki,
      env: env('closed', { REVOCATION_ALLOWED_HOSTS: `127.0.0.1:${cachedPort},127.0.0.1:${uncachedPort}` }),
    });
    try {
      await expectAccepted(app, heidi);
      await expectAccepted(app, ivan);
      await withNext.stop();
      await withoutNext.stop();
      await expectAccepted(app, heidi);
      assert.match(await expectRejected(app, ivan, 503, 'revocation_unknown'), /unreachable/);
    } finally {
      await app.close();
      await withNext.stop();
      await withoutNext.stop();
    }
  });

  test('OCSP_RESPONDERS overrides the AIA: the designated responder is asked, the AIA host never', async () => {
    http.route('/attacker', { body: 'never', contentType: 'application/ocsp-response' });
    const judy = await citizen(ca, http.url('/attacker'));
    const port = await freePort();
    await responder({ ca, signer: await responderCert(ca, 'Designated Responder'), port, entries: [good(judy)] });
    const app = await startTestApp({
      store: 'memory', database: sqlite(), pki,
      env: env('closed', {
        OCSP_RESPONDERS: JSON.stringify({ 'CN=OCSP Test Root,O=Yagona Test,C=UZ': rootResponder.url, 'CN=OCSP Test Citizen CA,O=Yagona Test,C=UZ': `http://127.0.0.1:${port}/` }),
      }),
    });
    try {
      await expectAccepted(app, judy);
      assert.equal(http.hits('/attacker'), 0);
    } finally {
      await app.close();
    }
  });
});

describe('OCSP then CRL, in REVOCATION_CHECKS order (memory + sqlite)', () => {
  test('a later source is asked only when an earlier one cannot decide; a definite answer is final', async () => {
    const downUrl = `http://127.0.0.1:${deadPort}/`;
    const kim = await citizen(ca, downUrl, { crlUrl: http.url('/order.crl') });
    const revokedLeo = await citizen(ca, downUrl, { crlUrl: http.url('/order.crl') });
    const noCrlMia = await citizen(ca, downUrl);
    // Listed on the CRL, but the responder (asked first) says good.
    const port = await freePort();
    const nina = await citizen(ca, `http://127.0.0.1:${port}/`, { crlUrl: http.url('/order.crl') });
    await responder({ ca, signer: await responderCert(ca, 'Order Test Responder'), port, entries: [good(nina)] });
    http.route('/order.crl', { body: makeCrl(ca, { revoked: [{ serialHex: revokedLeo.serialHex }, { serialHex: nina.serialHex }] }) });
    const hosts = `127.0.0.1:${deadPort},127.0.0.1:${http.port},127.0.0.1:${port}`;
    const app = await startTestApp({ store: 'memory', database: sqlite(), pki, env: env('closed', { REVOCATION_CHECKS: 'local,ocsp,crl', REVOCATION_ALLOWED_HOSTS: hosts }) });
    try {
      await expectAccepted(app, kim);
      await expectRejected(app, revokedLeo, 403, 'certificate_revoked');
      assert.match(await expectRejected(app, noCrlMia, 503, 'revocation_unknown'), /ocsp: .*unreachable.*, crl: the certificate names no http CRL distribution point/);
      await expectAccepted(app, nina);
    } finally {
      await app.close();
    }
  });
});

describe('OCSP revocation (redis + postgres)', () => {
  test('good and revoked through Redis and PostgreSQL; the good verdict is shared in Redis', async () => {
    const database = databases.find((d) => d.kind === 'postgres')!;
    const app = await startTestApp({ store: 'redis', database, pki, env: env('closed') });
    try {
      await expectAccepted(app, alice);
      await expectRejected(app, revokedBob, 403, 'certificate_revoked');
    } finally {
      await app.close();
    }
  });
});
