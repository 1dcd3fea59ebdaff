// readIdentity: names and national identifiers from certificates made by openssl, and the
// ambiguous or hostile subjects of docs/security-cases.md #51, each attribute omitted rather than guessed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readIdentity } from '../../src/login/identity.ts';
import { parseCertificate } from '../../src/pki/x509/certificate.ts';
import type { NameAttribute, ParsedCertificate } from '../../src/pki/x509/model.ts';
import { OID } from '../../src/pki/asn1/oids.ts';
import { createTestPki, type TestPki } from '../helpers/opensslPki.ts';

let pki: TestPki;
before(() => {
  pki = createTestPki();
});
after(() => pki.cleanup());

let counter = 0;
function certWith(subject: string, extensions?: string): { cert: ParsedCertificate; path: string } {
  const leaf = pki.leaf(`id${counter++}`, 'p256', { subject, ...(extensions === undefined ? {} : { extensions }) });
  return { cert: parseCertificate(leaf.certDer), path: leaf.certPath };
}

/** The same certificate with its subject attributes replaced (plain data, as readIdentity sees it). */
function withSubject(cert: ParsedCertificate, rdns: NameAttribute[][]): ParsedCertificate {
  return { ...cert, subject: { ...cert.subject, rdns } };
}

const utf8 = (type: string, value: string): NameAttribute => ({ type, value, tag: 12 });

function opensslField(path: string, flag: string): string {
  return execFileSync('openssl', ['x509', '-in', path, '-noout', flag, '-nameopt', 'RFC2253']).toString().trim();
}

describe('readIdentity reads what the certificate states once', () => {
  it('every attribute of a full citizen certificate, and the certificate facts', () => {
    const { cert, path } = certWith(
      '/C=UZ/L=Toshkent/O=Yagona Test/OU=Citizens/title=Dasturchi/SN=Valiyev/GN=Ali/CN=Ali Valiyev' +
      '/pinfl=31234567890123/UID=512345678/tinOid=123456789/emailAddress=ali.valiyev@example.uz',
    );
    const identity = readIdentity(cert);
    assert.deepEqual({ ...identity, certificate: undefined }, {
      commonName: 'Ali Valiyev',
      surname: 'Valiyev',
      givenName: 'Ali',
      pinfl: '31234567890123',
      tin: '512345678',
      organization: { name: 'Yagona Test', tin: '123456789', title: 'Dasturchi' },
      organizationalUnit: 'Citizens',
      locality: 'Toshkent',
      country: 'UZ',
      email: 'ali.valiyev@example.uz',
      certificate: undefined,
    });
    const der = execFileSync('openssl', ['x509', '-in', path, '-outform', 'DER']);
    assert.equal(identity.certificate.sha256, createHash('sha256').update(der).digest('hex'));
    assert.equal(identity.certificate.serialNumber, opensslField(path, '-serial').replace('serial=', ''));
    assert.equal(identity.certificate.issuer, opensslField(path, '-issuer').replace('issuer=', ''));
    assert.equal(identity.certificate.notBefore, new Date(opensslField(path, '-startdate').replace('notBefore=', '')).toISOString());
    assert.equal(identity.certificate.notAfter, new Date(opensslField(path, '-enddate').replace('notAfter=', '')).toISOString());
    assert.equal(identity.certificate.subject, cert.subject.text);
  });

  it('UTF-8 names (Cyrillic and Uzbek Latin) are kept as written', () => {
    const { cert } = certWith('/CN=Алишер Навоий/SN=Oʻrinboyev/C=UZ');
    const identity = readIdentity(cert);
    assert.equal(identity.commonName, 'Алишер Навоий');
    assert.equal(identity.surname, 'Oʻrinboyev');
  });

  it("the person's TIN comes from UID, the organisation's from 1.2.860.3.16.1.1: an employee keeps both", () => {
    assert.equal(readIdentity(certWith('/CN=Ali/UID=305123456').cert).tin, '305123456');
    assert.equal(readIdentity(certWith('/CN=Ali/UID=ali').cert).tin, undefined);
    const employee = readIdentity(certWith('/CN=Ali/UID=512345678/O=DUK YANGI TEXNOLOGIYALAR/tinOid=305123456/title=Dasturchi').cert);
    assert.equal(employee.tin, '512345678');
    assert.deepEqual(employee.organization, { name: 'DUK YANGI TEXNOLOGIYALAR', tin: '305123456', title: 'Dasturchi' });
    // An organisation TIN alone is the organisation's, never the person's.
    const sealed = readIdentity(certWith('/CN=Firm/tinOid=305123456').cert);
    assert.equal(sealed.tin, undefined);
    assert.deepEqual(sealed.organization, { tin: '305123456' });
  });

  it('the given name from givenName, else from name (2.5.4.41, where E-IMZO puts it)', () => {
    assert.equal(readIdentity(certWith('/CN=VALIYEV ALI/SN=VALIYEV/name=ALI').cert).givenName, 'ALI');
    assert.equal(readIdentity(certWith('/CN=Ali/GN=Ali/name=Other').cert).givenName, 'Ali');
    // An ambiguous givenName is no given name, not a reason to read another attribute.
    assert.equal(readIdentity(certWith('/CN=Ali/GN=Ali/GN=Vali/name=Other').cert).givenName, undefined);
  });

  it("placeholders mean absent: a person's certificate has no organisation", () => {
    const person = readIdentity(certWith('/CN=VALIYEV ALI/name=ALI/UID=512345678/pinfl=31234567890123/O=Не указано/title=(noaniq)/OU=«Не указано»').cert);
    assert.equal(person.organization, undefined);
    assert.equal(person.organizationalUnit, undefined);
    assert.equal(person.tin, '512345678');
    for (const placeholder of ["Ko'rsatilmagan", 'Кўрсатилмаган', 'NOANIQ', '-', '(Не указан)']) {
      assert.equal(readIdentity(certWith(`/CN=Ali/O=${placeholder}`).cert).organization, undefined, placeholder);
    }
    // A placeholder title goes, the real organisation stays.
    assert.deepEqual(readIdentity(certWith('/CN=Ali/O=Real Org/title=(noaniq)').cert).organization, { name: 'Real Org' });
  });

  it('email from the single rfc822Name of subjectAltName when the subject has none', () => {
    const { cert } = certWith('/CN=Ali', 'subjectAltName=email:ali@example.uz\n');
    assert.equal(readIdentity(cert).email, 'ali@example.uz');
  });

  it('a certificate with no optional attributes yields only the certificate facts', () => {
    const { cert } = certWith('/O=Only Org');
    const identity = readIdentity(cert);
    assert.deepEqual(Object.keys(identity).sort(), ['certificate', 'organization']);
    assert.deepEqual(identity.organization, { name: 'Only Org' });
  });
});

describe('readIdentity omits what is ambiguous or badly formed (docs/security-cases.md #51)', () => {
  it('an attribute present twice, in two RDNs or in one multi-valued RDN', () => {
    assert.equal(readIdentity(certWith('/CN=Ali/CN=Vali').cert).commonName, undefined);
    assert.equal(readIdentity(certWith('/CN=Ali+CN=Vali').cert).commonName, undefined);
    assert.equal(readIdentity(certWith('/CN=Ali/pinfl=31234567890123/pinfl=41234567890123').cert).pinfl, undefined);
    assert.equal(readIdentity(certWith('/CN=Ali/pinfl=31234567890123+pinfl=31234567890123').cert).pinfl, undefined);
  });

  it('attributes inside a multi-valued RDN are read when each type occurs once', () => {
    const identity = readIdentity(certWith('/CN=Ali+pinfl=31234567890123/O=Org+OU=Unit').cert);
    assert.equal(identity.commonName, 'Ali');
    assert.equal(identity.pinfl, '31234567890123');
    assert.deepEqual(identity.organization, { name: 'Org' });
    assert.equal(identity.organizationalUnit, 'Unit');
  });

  it('PINFL and TIN with the wrong number of digits or non-digits', () => {
    for (const pinfl of ['3123456789012', '312345678901234', '3123456789012A', '3123456789012 ']) {
      assert.equal(readIdentity(certWith(`/CN=Ali/pinfl=${pinfl}`).cert).pinfl, undefined, pinfl);
    }
    for (const tin of ['12345678', '1234567890', '12345678X']) {
      assert.equal(readIdentity(certWith(`/CN=Ali/UID=${tin}`).cert).tin, undefined, tin);
      assert.equal(readIdentity(certWith(`/CN=Firm/tinOid=${tin}`).cert).organization, undefined, tin);
    }
  });

  it('control characters, bidi overrides, zero-width and replacement characters, padding spaces', () => {
    const { cert } = certWith('/CN=placeholder/C=UZ');
    for (const value of ['Ali\nVali', 'Ali\r\nAdmin', 'Ali\u0000', 'Ali\u001b[31m', 'Ali\u202eilaV', 'A\u200bli', 'Ali\ufffd', ' Ali', 'Ali ', '', 'A'.repeat(257)]) {
      const identity = readIdentity(withSubject(cert, [[utf8(OID.commonName, value)], [utf8(OID.organizationName, value)]]));
      assert.equal(identity.commonName, undefined, JSON.stringify(value));
      assert.equal(identity.organization, undefined, JSON.stringify(value));
    }
    assert.equal(readIdentity(withSubject(cert, [[utf8(OID.commonName, 'A'.repeat(256))]])).commonName, 'A'.repeat(256));
  });

  it('a country that is not two upper-case letters', () => {
    for (const country of ['uz', 'U1']) {
      assert.equal(readIdentity(certWith(`/CN=Ali/C=${country}`).cert).country, undefined, country);
    }
    // openssl refuses a three-letter countryName (X.520 size 2), so that one is plain data.
    const { cert } = certWith('/CN=Ali');
    assert.equal(readIdentity(withSubject(cert, [[{ type: OID.countryName, value: 'UZB', tag: 19 }]])).country, undefined);
  });

  it('email addresses that are not plain addresses, two SAN emails, or a bad subject email with a SAN one', () => {
    const { cert } = certWith('/CN=Ali');
    for (const email of ['ali', 'ali@', '@example.uz', 'ali@example', 'ali @example.uz', 'ali@example.uz\n', 'a<b>@example.uz']) {
      assert.equal(readIdentity(withSubject(cert, [[{ type: OID.emailAddress, value: email, tag: 22 }]])).email, undefined, email);
    }
    assert.equal(readIdentity(certWith('/CN=Ali', 'subjectAltName=email:a@example.uz,email:b@example.uz\n').cert).email, undefined);
    const both = certWith('/CN=Ali/emailAddress=not-an-address', 'subjectAltName=email:ali@example.uz\n').cert;
    assert.equal(readIdentity(both).email, undefined);
  });
});
