// src/pki/ocsp/ocsp.ts against genuine responses from `openssl ocsp`, and those responses altered:
// every rule of RFC 6960 §3.2 / §4.2.2 the verifier enforces, one failure each
// (docs/security-cases.md §D 57–63), plus the answers it must accept (delegate, CA itself, byKey).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import { parseDer } from '../../src/pki/asn1/der.ts';
import { sequence } from '../../src/pki/asn1/derWrite.ts';
import { createKeyPair, issueCertificate, toPem } from '../../src/pki/issue/issue.ts';
import type { ParsedCertificate } from '../../src/pki/x509/model.ts';
import { buildOcspRequest, type OcspRequest, verifyOcspResponse } from '../../src/pki/ocsp/ocsp.ts';
import { type OcspResponder, startOcspResponder } from '../helpers/ocspResponder.ts';
import { type Authority, selfSignedCa, subordinateCa } from '../helpers/testPki.ts';

const day = 86_400_000;
const now = new Date();
let root: Authority;
let ca: Authority;
let caCert: ParsedCertificate;
let rootCert: ParsedCertificate;
let alice: ParsedCertificate;
let bob: ParsedCertificate;
let delegated: OcspResponder;
let byKey: OcspResponder;
let shortLived: OcspResponder;
let rootSigned: OcspResponder;
const freshness = { maxFutureSeconds: 300, maxAgeSeconds: 300 };

async function leaf(issuer: Authority, name: string, extra: Record<string, unknown> = {}): Promise<{ cert: ParsedCertificate; key: Authority }> {
  const pair = await createKeyPair('ec-p256');
  const issued = await issueCertificate({
    subject: `CN=${name},O=Yagona Test,C=UZ`, issuer, publicKey: pair.publicKey,
    notBefore: new Date(now.getTime() - day), notAfter: new Date(now.getTime() + 30 * day), keyUsage: ['digitalSignature'], ...extra,
  });
  return { cert: parseCertificate(issued.der), key: { certDer: issued.der, privateKey: pair.privateKey } };
}

async function ask(responder: OcspResponder, der: Uint8Array): Promise<Uint8Array> {
  const res = await fetch(responder.url, { method: 'POST', body: Buffer.from(der), headers: { 'content-type': 'application/ocsp-request' }, signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

const requestFor = (cert: ParsedCertificate, issuer = caCert, nonce = new Uint8Array(randomBytes(32))): OcspRequest => buildOcspRequest(cert, issuer, nonce);

before(async () => {
  root = await selfSignedCa('CN=Verify Root,O=Yagona Test,C=UZ', 'ec-p384', now);
  ca = await subordinateCa('CN=Verify CA,O=Yagona Test,C=UZ', root, now);
  caCert = parseCertificate(ca.certDer);
  rootCert = parseCertificate(root.certDer);
  alice = (await leaf(ca, 'Alice')).cert;
  bob = (await leaf(ca, 'Bob')).cert;
  const entries = [{ serialHex: alice.serialHex, status: 'good' as const }, { serialHex: bob.serialHex, status: 'revoked' as const, reason: 'superseded' }];
  const delegate = (await leaf(ca, 'Verify Responder', { extKeyUsage: ['ocspSigning'] })).key;
  delegated = await startOcspResponder({ ca, signer: delegate, entries, nextUpdateMinutes: 10 });
  // A delegate whose certificate expires in two minutes.
  const expiring = (await leaf(ca, 'Expiring Responder', { extKeyUsage: ['ocspSigning'], notAfter: new Date(Date.now() + 120_000) })).key;
  shortLived = await startOcspResponder({ ca, signer: expiring, entries });
  rootSigned = await startOcspResponder({ ca: root, signer: root, entries: [{ serialHex: caCert.serialHex, status: 'good' }] });
  byKey = await startOcspResponder({ ca, signer: delegate, entries, keyId: true });
});
after(async () => {
  await Promise.all([delegated, shortLived, rootSigned, byKey].map((r) => r?.stop()));
});

describe('OCSP verification of genuine responses', () => {
  test('good, revoked with reason, from a delegate; nextUpdate read', async () => {
    const req = requestFor(alice);
    const good = verifyOcspResponse({ der: await ask(delegated, req.der), request: req, issuer: caCert, at: new Date(), ...freshness });
    assert.equal(good.status, 'good');
    assert.ok(good.nextUpdate && good.nextUpdate.getTime() - good.thisUpdate.getTime() === 10 * 60_000);
    const reqBob = requestFor(bob);
    const revoked = verifyOcspResponse({ der: await ask(delegated, reqBob.der), request: reqBob, issuer: caCert, at: new Date(), ...freshness });
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.status === 'revoked' && revoked.reason, 4);
  });

  test('an unlisted serial is "unknown"; the CA signing itself and a byKey responderID verify', async () => {
    const stranger = (await leaf(ca, 'Stranger')).cert;
    const req = requestFor(stranger);
    assert.equal(verifyOcspResponse({ der: await ask(delegated, req.der), request: req, issuer: caCert, at: new Date(), ...freshness }).status, 'unknown');
    const reqCa = requestFor(caCert, rootCert);
    assert.equal(verifyOcspResponse({ der: await ask(rootSigned, reqCa.der), request: reqCa, issuer: rootCert, at: new Date(), ...freshness }).status, 'good');
    const reqKey = requestFor(alice);
    assert.equal(verifyOcspResponse({ der: await ask(byKey, reqKey.der), request: reqKey, issuer: caCert, at: new Date(), ...freshness }).status, 'good');
  });
});

describe('OCSP verification refuses (revocation_unknown)', () => {
  const refuses = (input: Parameters<typeof verifyOcspResponse>[0], reason: RegExp) =>
    assert.throws(() => verifyOcspResponse(input), (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'revocation_unknown');
      assert.match(err.message ?? '', reason);
      return true;
    });

  test('a nonce other than ours, or none (§D 60)', async () => {
    const req = requestFor(alice);
    const der = await ask(delegated, req.der);
    refuses({ der, request: { ...req, nonce: requestFor(alice).nonce }, issuer: caCert, at: new Date(), ...freshness }, /nonce differs/);
    const withoutNonce = await ask(delegated, opensslRequestWithoutNonce(alice, caCert));
    refuses({ der: withoutNonce, request: req, issuer: caCert, at: new Date(), ...freshness }, /carries no nonce/);
  });

  test('an answer about another certificate, or two answers (§D 58)', async () => {
    const nonce = new Uint8Array(randomBytes(32));
    const forAlice = requestFor(alice, caCert, nonce);
    const forBob = requestFor(bob, caCert, nonce);
    refuses({ der: await ask(delegated, forBob.der), request: forAlice, issuer: caCert, at: new Date(), ...freshness }, /another certificate/);
    // One request listing Alice and Bob, with Alice's nonce extension.
    const [list, extensions] = parseDer(forAlice.der).children[0]!.children as [ReturnType<typeof parseDer>, ReturnType<typeof parseDer>];
    const bobRequest = parseDer(forBob.der).children[0]!.children[0]!.children[0]!;
    const both = sequence(sequence(sequence(list.children[0]!.bytes, bobRequest.bytes), extensions.bytes));
    refuses({ der: await ask(delegated, both), request: forAlice, issuer: caCert, at: new Date(), ...freshness }, /holds 2 answers/);
  });

  test('a signature that does not verify, and a signer the CA did not authorise (§D 57)', async () => {
    const req = requestFor(alice);
    const der = await ask(delegated, req.der);
    refuses({ der: flipSignatureBit(der), request: req, issuer: caCert, at: new Date(), ...freshness }, /signature does not verify/);
    // The same genuine answer checked as if another CA (the root) had issued Alice: its delegate is not the root's.
    refuses({ der, request: req, issuer: rootCert, at: new Date(), ...freshness }, /not by the CA|neither the issuing CA/);
  });

  test('stale, early, expired answers and an expired responder certificate (§D 59, 61, 63)', async () => {
    const req = requestFor(alice);
    const der = await ask(delegated, req.der);
    const t = Date.now();
    refuses({ der, request: req, issuer: caCert, at: new Date(t + 30 * 60_000), ...freshness }, /stale/);
    refuses({ der, request: req, issuer: caCert, at: new Date(t - 30 * 60_000), ...freshness }, /in the future/);
    refuses({ der, request: req, issuer: caCert, at: new Date(t + 11 * 60_000), maxFutureSeconds: 300, maxAgeSeconds: 3600 }, /expired \(nextUpdate/);
    const reqShort = requestFor(alice);
    const fromExpiring = await ask(shortLived, reqShort.der);
    refuses({ der: fromExpiring, request: reqShort, issuer: caCert, at: new Date(t + 180_000), ...freshness }, /not valid at/);
  });

  test('responder statuses other than successful, and bytes that are no OCSP response (§D 62)', () => {
    const req = requestFor(alice);
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } without responseBytes, as responders send them.
    for (const [status, name] of [[1, 'malformedRequest'], [2, 'internalError'], [3, 'tryLater'], [6, 'unauthorized']] as const) {
      refuses({ der: Uint8Array.of(0x30, 0x03, 0x0a, 0x01, status), request: req, issuer: caCert, at: new Date(), ...freshness }, new RegExp(name));
    }
    refuses({ der: Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x00), request: req, issuer: caCert, at: new Date(), ...freshness }, /lacks responseBytes/);
    refuses({ der: new TextEncoder().encode('<html></html>'), request: req, issuer: caCert, at: new Date(), ...freshness }, /OCSP/);
  });
});

/** A request made by `openssl ocsp -no_nonce` for the same certificate (SHA-1 CertID). */
function opensslRequestWithoutNonce(cert: ParsedCertificate, issuer: ParsedCertificate): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-ocspreq-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), toPem(cert.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'issuer.pem'), toPem(issuer.der, 'CERTIFICATE'));
    execFileSync('openssl', ['ocsp', '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'cert.pem'), '-no_nonce', '-reqout', join(dir, 'req.der')], { stdio: 'ignore' });
    return new Uint8Array(readFileSync(join(dir, 'req.der')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Flips one bit of the BasicOCSPResponse signature value. */
function flipSignatureBit(der: Uint8Array): Uint8Array {
  const copy = der.slice();
  const octets = parseDer(copy).children[1]!.children[0]!.children[1]!;
  const basicStart = octets.start + octets.headerLength;
  const signature = parseDer(octets.content).children[2]!;
  const at = basicStart + signature.start + signature.headerLength + 10;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
