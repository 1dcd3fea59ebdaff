// CRL parsing and RFC 5280 §6.3 use: only a complete, fresh, in-scope CRL signed by an
// entitled key proves "not revoked" (docs/security-cases.md §D 66–68); everything else is unknown.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { entryKey, parseCrl, parseCrlsFromPemOrDer } from '../../../src/pki/x509/crl.ts';
import { packCrl, unpackCrl } from '../../../src/pki/x509/crlTransfer.ts';
import { parseDer } from '../../../src/pki/asn1/der.ts';
import { sequence } from '../../../src/pki/asn1/derWrite.ts';
import { OID } from '../../../src/pki/asn1/oids.ts';
import { validate } from '../../../src/pki/path/validate.ts';
import { crlFor, crlNumber, hierarchy, issue, type Issued, now, tlv } from '../chainFixtures.ts';
import { assertCode } from '../../helpers/assertions.ts';
import { pem } from '../../helpers/pem.ts';

let root: Issued;
let ca: Issued;
let leaf: Issued;
let rootCrl: Uint8Array;

before(async () => {
  ({ root, ca, leaf } = await hierarchy('Crl'));
  rootCrl = await crlFor(root);
});

function check(crls: Uint8Array[], intermediates: Issued[] = [ca]) {
  return validate({ leaf: leaf.cert, anchors: [root.cert], intermediates: intermediates.map((c) => c.cert), at: now, crls });
}

const ext = (oid: string, critical: boolean, value: Uint8Array) => new x509.Extension(oid, critical, new Uint8Array(value));

describe('parseCrl', () => {
  it('reads issuer, times, number and entries with reasons', async () => {
    const crl = parseCrl(await crlFor(ca, { revoked: [{ cert: leaf, reason: x509.X509CrlReason.cessationOfOperation }], extensions: [crlNumber(7)] }));
    assert.equal(crl.version, 2);
    assert.equal(crl.issuer.canonical, ca.cert.subject.canonical);
    assert.equal(crl.crlNumber, 7n);
    assert.ok(crl.nextUpdate !== undefined && crl.thisUpdate < crl.nextUpdate);
    assert.deepEqual(crl.entries.get(entryKey(leaf.cert.issuer, leaf.cert.serialHex))?.reason, 5);
  });

  it('reads the entries one by one as strictly as the rest: an empty list, a non-DER serial or a duplicate in the last entry is refused', async () => {
    const der = await crlFor(ca, { revoked: [{ cert: leaf }, { cert: ca }] });
    // The signature is not checked here: the TBSCertList is rebuilt with another list of entries.
    const withEntries = (change: (entries: Uint8Array[]) => Uint8Array[]) => {
      const [tbs, ...signature] = parseDer(der).children;
      const items = tbs!.children.map((item) => item.bytes);
      const at = tbs!.children.findIndex((item, i) => i > 2 && item.tag === 0x30);
      items[at] = tlv(0x30, ...change(tbs!.children[at]!.children.map((entry) => entry.bytes)));
      return tlv(0x30, tlv(0x30, ...items), ...signature.map((item) => item.bytes));
    };
    assert.equal(parseCrl(withEntries((entries) => entries)).entries.size, 2);
    assertCode(() => parseCrl(withEntries(() => [])), 'malformed_signature', /revokedCertificates/);
    const nonMinimalSerial = (entry: Uint8Array) => tlv(0x30, tlv(0x02, Uint8Array.of(0, 1)), parseDer(entry).children[1]!.bytes);
    assertCode(() => parseCrl(withEntries(([first, second]) => [first!, nonMinimalSerial(second!)])), 'malformed_signature', /INTEGER/);
    assertCode(() => parseCrl(withEntries(([first, second]) => [first!, second!, first!])), 'malformed_signature', /twice/);
  });

  it('an entry wider than a part\'s budget is refused, however many entries the list holds', async () => {
    const der = await crlFor(ca, { revoked: [{ cert: leaf }] });
    const [tbs, ...signature] = parseDer(der).children;
    const items = tbs!.children.map((item) => item.bytes);
    const at = tbs!.children.findIndex((item, i) => i > 2 && item.tag === 0x30);
    const [serial, date] = tbs!.children[at]!.children[0]!.children.map((field) => field.bytes);
    // 100 001 NULLs where the entry's extensions go: more nodes than one part may have.
    const wide = sequence(serial!, date!, sequence(Uint8Array.from({ length: 2 * 100_001 }, (_, i) => (i % 2 === 0 ? 0x05 : 0x00))));
    items[at] = sequence(wide);
    assertCode(() => parseCrl(sequence(sequence(...items), ...signature.map((item) => item.bytes))), 'malformed_signature', /too many DER elements/);
  });

  it('reads PEM and refuses trailing bytes', async () => {
    const der = await crlFor(ca);
    assert.equal(parseCrl(parseCrlsFromPemOrDer(Buffer.from(pem(der, 'X509 CRL')))[0]!).sha256, parseCrl(der).sha256);
    assertCode(() => parseCrl(Uint8Array.from([...der, 0])), 'malformed_signature');
  });
});

describe('CRLs in validation', () => {
  it('a CRL that does not parse proves nothing', async () => {
    const broken = Uint8Array.from([...(await crlFor(ca)), 0]);
    assertCode(() => check([rootCrl, broken]), 'revocation_unknown', /no usable CRL/);
  });

  it('no nextUpdate, no cRLNumber, a critical cRLNumber, or a future thisUpdate make a CRL unusable', async () => {
    const noNextUpdate = await crlFor(ca, { nextUpdate: null });
    assertCode(() => check([rootCrl, noNextUpdate]), 'revocation_unknown', /no nextUpdate/);
    const noNumber = await crlFor(ca, { extensions: [] });
    assertCode(() => check([rootCrl, noNumber]), 'revocation_unknown', /cRLNumber/);
    const criticalNumber = await crlFor(ca, { extensions: [ext(OID.crlNumber, true, Uint8Array.of(2, 1, 1))] });
    assertCode(() => check([rootCrl, criticalNumber]), 'revocation_unknown', /critical/);
    const future = await crlFor(ca, { thisUpdate: new Date(now.getTime() + 3_600_000) });
    assertCode(() => check([rootCrl, future]), 'revocation_unknown', /not yet valid/);
  });

  it('an unknown critical CRL extension makes it unusable (RFC 5280 §5.2)', async () => {
    const crl = await crlFor(ca, { extensions: [crlNumber(1), ext('1.2.3.4.5', true, Uint8Array.of(5, 0))] });
    assertCode(() => check([rootCrl, crl]), 'revocation_unknown', /1\.2\.3\.4\.5/);
  });

  describe('delta CRLs (RFC 5280 §5.2.4, §6.3.3)', () => {
    const deltaOf = (base: number, number: number) => [crlNumber(number), ext(OID.deltaCrlIndicator, true, Uint8Array.of(2, 1, base))];

    it('a delta listing the leaf revokes it although the complete CRL does not', async () => {
      const complete = await crlFor(ca);
      check([rootCrl, complete]);
      const delta = await crlFor(ca, { revoked: [{ cert: leaf, reason: x509.X509CrlReason.keyCompromise }], extensions: deltaOf(1, 2) });
      assertCode(() => check([rootCrl, complete, delta]), 'certificate_revoked', /delta CRL/);
    });

    it('removeFromCRL in the delta lifts a certificateHold of the complete CRL, never a permanent revocation', async () => {
      const held = await crlFor(ca, { revoked: [{ cert: leaf, reason: x509.X509CrlReason.certificateHold }] });
      assertCode(() => check([rootCrl, held]), 'certificate_revoked', /certificateHold/);
      const released = await crlFor(ca, { revoked: [{ cert: leaf, reason: x509.X509CrlReason.removeFromCRL }], extensions: deltaOf(1, 2) });
      check([rootCrl, held, released]);
      const compromised = await crlFor(ca, { revoked: [{ cert: leaf, reason: x509.X509CrlReason.keyCompromise }] });
      assertCode(() => check([rootCrl, compromised, released]), 'certificate_revoked', /keyCompromise/);
    });

    it('a stale delta, a delta based on a newer CRL, or a delta alone leave the status unknown', async () => {
      const complete = await crlFor(ca);
      const stale = await crlFor(ca, { extensions: deltaOf(1, 2), thisUpdate: new Date(now.getTime() - 10 * 86_400_000), nextUpdate: new Date(now.getTime() - 86_400_000) });
      assertCode(() => check([rootCrl, complete, stale]), 'revocation_unknown', /delta/);
      const ahead = await crlFor(ca, { extensions: deltaOf(5, 6) });
      assertCode(() => check([rootCrl, complete, ahead]), 'revocation_unknown', /delta/);
      const alone = await crlFor(ca, { extensions: deltaOf(1, 2) });
      assertCode(() => check([rootCrl, alone]), 'revocation_unknown', /only delta/);
    });
  });

  it('issuingDistributionPoint scope: a CA-only CRL does not cover a citizen (§C 68)', async () => {
    const caOnly = await crlFor(ca, { extensions: [crlNumber(1), ext(OID.issuingDistributionPoint, true, tlv(0x30, tlv(0x82, Uint8Array.of(0xff))))] });
    assertCode(() => check([rootCrl, caOnly]), 'revocation_unknown', /CA certificates only/);
    const userOnly = await crlFor(ca, { extensions: [crlNumber(1), ext(OID.issuingDistributionPoint, true, tlv(0x30, tlv(0x81, Uint8Array.of(0xff))))] });
    check([rootCrl, userOnly]);
  });

  describe('indirect CRLs (RFC 5280 §5.2.5, §5.3.3, §6.3.3(b))', () => {
    const indirectIdp = () => ext(OID.issuingDistributionPoint, true, tlv(0x30, tlv(0x84, Uint8Array.of(0xff))));
    const crlIssuerDp = (service: Issued) =>
      ext(OID.crlDistributionPoints, false, tlv(0x30, tlv(0x30, tlv(0xa2, tlv(0xa4, service.cert.subject.der)))));

    it('a revocation service named as cRLIssuer speaks for the citizens whose certificates name it', async () => {
      const service = await issue({ subject: 'CN=Revocation Service,O=Yagona Test,C=UZ', issuer: root, ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
      const citizen = await issue({ subject: 'CN=Indirect Citizen,C=UZ', issuer: ca, extensions: [crlIssuerDp(service)] });
      const pool = [ca.cert, service.cert];
      const run = (crls: Uint8Array[]) => validate({ leaf: citizen.cert, anchors: [root.cert], intermediates: pool, at: now, crls });
      const caCrl = await crlFor(ca);
      const clean = await crlFor(service, { extensions: [crlNumber(1), indirectIdp()] });
      run([rootCrl, caCrl, clean]);
      const revoking = await crlFor(service, { extensions: [crlNumber(2), indirectIdp()], revoked: [{ cert: citizen, certificateIssuer: ca }] });
      assertCode(() => run([rootCrl, caCrl, revoking]), 'certificate_revoked', /Revocation Service/);
      // The same serial under another certificate issuer is someone else's certificate.
      const otherIssuer = await crlFor(service, { extensions: [crlNumber(3), indirectIdp()], revoked: [{ cert: citizen, certificateIssuer: service }] });
      run([rootCrl, caCrl, otherIssuer]);
      // Not indirect: the service's CRL is no proof for the citizen.
      const direct = await crlFor(service);
      assertCode(() => run([rootCrl, caCrl, direct]), 'revocation_unknown', /distribution point/);
    });

    it('packed for a thread boundary (crlTransfer.ts), an indirect CRL finds every entry under its own issuer and decides alike', async () => {
      const service = await issue({ subject: 'CN=Packing Service,O=Yagona Test,C=UZ', issuer: root, ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
      const citizen = await issue({ subject: 'CN=Packed Citizen,C=UZ', issuer: ca, extensions: [crlIssuerDp(service)] });
      const der = await crlFor(service, {
        extensions: [crlNumber(1), indirectIdp()],
        revoked: [{ cert: leaf, reason: x509.X509CrlReason.superseded }, { cert: citizen, certificateIssuer: ca }, { cert: root, certificateIssuer: root }, { cert: service }],
      });
      const parsed = parseCrl(der);
      const { packed, transfer } = packCrl(parseCrl(der));
      const crossed = unpackCrl(structuredClone(packed, { transfer }));
      assert.equal(crossed.entries.size, 4);
      assert.deepEqual([...crossed.entries.values()].map((e) => [e.serialHex, e.certificateIssuer.text]).sort(),
        [...parsed.entries.values()].map((e) => [e.serialHex, e.certificateIssuer.text]).sort());
      for (const entry of parsed.entries.values()) {
        assert.deepEqual(crossed.entries.get(entryKey(entry.certificateIssuer, entry.serialHex)), entry);
        // The same serial under another certificate issuer is another certificate.
        assert.equal(crossed.entries.get(entryKey(entry.certificateIssuer === parsed.issuer ? root.cert.subject : parsed.issuer, entry.serialHex)), undefined);
      }
      assert.equal(crossed.entries.get(entryKey(ca.cert.subject, '00')), undefined);
      assert.equal(crossed.entries.get('no key'), undefined);
      const caCrl = await crlFor(ca);
      assertCode(() => validate({ leaf: citizen.cert, anchors: [root.cert], intermediates: [ca.cert, service.cert], at: now, crls: [rootCrl, caCrl, crossed] }),
        'certificate_revoked', /Packing Service/);
    });

    it('a certificate that does not name the service is not covered by its CRL', async () => {
      const service = await issue({ subject: 'CN=Other Service,O=Yagona Test,C=UZ', issuer: root, ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
      const crl = await crlFor(service, { extensions: [crlNumber(1), indirectIdp()] });
      assertCode(() => check([rootCrl, crl], [ca, service]), 'revocation_unknown', /no usable CRL/);
    });

    it('certificateIssuer entries outside an indirect CRL make it unusable', async () => {
      const crl = await crlFor(ca, { revoked: [{ cert: root, certificateIssuer: root }] });
      assertCode(() => check([rootCrl, crl]), 'revocation_unknown', /not indirect/);
    });
  });

  it('a CRL partitioned by reasons does not prove "not revoked" alone', async () => {
    const keyCompromiseOnly = tlv(0x30, tlv(0x83, Uint8Array.of(0x06, 0x40)));
    const partial = await crlFor(ca, { extensions: [crlNumber(1), ext(OID.issuingDistributionPoint, true, keyCompromiseOnly)] });
    assertCode(() => check([rootCrl, partial]), 'revocation_unknown', /no usable CRL|unknown/);
  });

  it('a CRL from another issuer, or signed by the wrong key, is no proof (§D 66)', async () => {
    const other = await hierarchy('Other Crl');
    const foreign = await crlFor(other.ca);
    assertCode(() => check([rootCrl, foreign]), 'revocation_unknown', /no usable CRL/);
    const forged = await crlFor(ca, { signWith: other.ca });
    assertCode(() => check([rootCrl, forged]), 'revocation_unknown', /not signed by a key entitled/);
  });

  it('a separate CRL-signing certificate of the same CA is accepted when it chains to the same anchor (RFC 5280 §6.3.3(f))', async () => {
    const crlSigner = await issue({ subject: ca.name, issuer: root, ca: true, keySlot: 'crl-signer', keyUsage: x509.KeyUsageFlags.cRLSign });
    const crl = await crlFor(ca, { signWith: crlSigner });
    check([rootCrl, crl], [ca, crlSigner]);
    const noCrlSign = await issue({ subject: ca.name, issuer: root, ca: true, keySlot: 'crl-signer', keyUsage: x509.KeyUsageFlags.keyCertSign });
    assertCode(() => check([rootCrl, crl], [ca, noCrlSign]), 'revocation_unknown', /not signed by a key entitled/);
  });

  it('the CA keyUsage must allow cRLSign for its own CRLs', async () => {
    const signOnly = await issue({ subject: 'CN=Cert Only CA,C=UZ', issuer: root, ca: true, keyUsage: x509.KeyUsageFlags.keyCertSign });
    const citizen = await issue({ subject: 'CN=Under Cert Only CA,C=UZ', issuer: signOnly });
    const crls = [rootCrl, await crlFor(signOnly)];
    assertCode(() => validate({ leaf: citizen.cert, anchors: [root.cert], intermediates: [signOnly.cert], at: now, crls }), 'revocation_unknown', /cRLSign/);
  });
});
