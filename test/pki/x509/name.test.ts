// Distinguished names: RFC 4514 text, canonical form for matching, and operator input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalDn, formatRfc4514, namesEqual, parseNameDer, parseRfc4514 } from '../../../src/pki/x509/name.ts';
import { ascii, tlv } from '../chainFixtures.ts';
import { assertCode } from '../../helpers/assertions.ts';

const oid = {
  cn: Uint8Array.of(0x55, 0x04, 0x03),
  o: Uint8Array.of(0x55, 0x04, 0x0a),
  c: Uint8Array.of(0x55, 0x04, 0x06),
  serial: Uint8Array.of(0x55, 0x04, 0x05),
};
const utf8 = (s: string) => tlv(0x0c, Uint8Array.from(Buffer.from(s, 'utf8')));
const printable = (s: string) => tlv(0x13, ascii(s));
const atv = (type: Uint8Array, value: Uint8Array) => tlv(0x30, tlv(0x06, type), value);
const rdn = (...atvs: Uint8Array[]) => tlv(0x31, ...atvs);
const name = (...rdns: Uint8Array[]) => parseNameDer(tlv(0x30, ...rdns));

function invalid(text: string): void {
  assertCode(() => parseRfc4514(text), 'invalid_request');
}

describe('Name from DER', () => {
  it('prints RFC 4514 text, most significant RDN last', () => {
    const n = name(rdn(atv(oid.c, printable('UZ'))), rdn(atv(oid.o, utf8('Yagona'))), rdn(atv(oid.cn, utf8('Aziz Karimov'))));
    assert.equal(n.text, 'CN=Aziz Karimov,O=Yagona,C=UZ');
    assert.equal(n.rdns.length, 3);
    assert.equal(n.rdns[0]![0]!.tag, 0x13);
  });

  it('escapes RFC 4514 specials and control characters (no log forging)', () => {
    const n = name(rdn(atv(oid.cn, utf8(' #A,B+C"D\\E<F>G;H=\r\nI '))));
    assert.equal(n.text, 'CN=\\ #A\\,B\\+C\\"D\\\\E\\<F\\>G\\;H\\=\\0d\\0aI\\ ');
    assert.doesNotMatch(n.text, /[\r\n]/);
  });

  it('multi-valued RDNs join with + and non-string values print as hex', () => {
    const n = name(rdn(atv(oid.cn, utf8('A')), atv(oid.serial, printable('1'))), rdn(atv(Uint8Array.of(0x2a, 0x03), tlv(0x02, Uint8Array.of(5)))));
    assert.equal(n.text, '1.2.3=#020105,CN=A+serialNumber=1');
  });

  it('an empty Name is allowed; an empty RDN is not', () => {
    assert.equal(name().text, '');
    assertCode(() => name(rdn()), 'malformed_signature');
  });
});

describe('canonicalDn', () => {
  const cert = name(rdn(atv(oid.c, printable('UZ'))), rdn(atv(oid.o, utf8('Yagona  Test'))), rdn(atv(oid.cn, utf8('Citizen CA'))));

  it('matches an operator string regardless of case, spacing, type names and escapes', () => {
    for (const text of [
      'CN=Citizen CA,O=Yagona Test,C=UZ',
      'cn=citizen ca, o=YAGONA   TEST, c=uz',
      'commonName=Citizen CA;organizationName=Yagona Test;countryName=UZ',
      '2.5.4.3=Citizen\\20CA,OID.2.5.4.10=Yagona Test,C=#1302555a',
    ]) {
      assert.equal(canonicalDn(text), canonicalDn(cert), text);
    }
    assert.equal(canonicalDn(cert), 'cn=citizen ca,o=yagona test,c=uz');
  });

  it('does not match a different order or value', () => {
    assert.notEqual(canonicalDn('C=UZ,O=Yagona Test,CN=Citizen CA'), canonicalDn(cert));
    assert.notEqual(canonicalDn('CN=Citizen CA2,O=Yagona Test,C=UZ'), canonicalDn(cert));
  });

  it('sorts multi-valued RDNs and compares names (RFC 5280 §7.1)', () => {
    assert.equal(canonicalDn('CN=A+serialNumber=1,C=UZ'), canonicalDn('serialNumber=1+cn=a,c=uz'));
    const a = name(rdn(atv(oid.cn, printable('Same Name'))));
    const b = name(rdn(atv(oid.cn, utf8('same   name'))));
    assert.ok(namesEqual(a, b));
  });

  it('round-trips through formatRfc4514 and parseRfc4514', () => {
    const text = 'CN=Ali\\, Vali+serialNumber=PNOUZ-123,O=\\#Hash,C=UZ';
    assert.equal(formatRfc4514(parseRfc4514(text)), text);
  });

  it('allows an unescaped "=" inside a value (RFC 4514 §3)', () => {
    assert.equal(parseRfc4514('CN=a=b')[0]![0]!.value, 'a=b');
  });

  it('decodes UTF-8 hex escapes', () => {
    assert.equal(parseRfc4514('CN=O\\CA\\BBzbekiston')[0]![0]!.value, 'Oʻzbekiston');
  });

  it('refuses text that is not RFC 4514', () => {
    for (const bad of ['CN', 'XX=1', 'CN=a,=b', 'CN=a"b', 'CN=a\\', 'CN=a\\zz', 'CN=\\ff', 'CN=#12', 'CN=#zz', 'CN=', 'CN=a<b']) invalid(bad);
  });
});
