// How an operator's serial, issuer and reason become the registry's key (docs/security-cases.md #123).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OperatorInputError } from '../../src/errors.ts';
import { canonicalIssuer, normaliseSerialHex, parseReason, reasonFromCode } from '../../src/revocation/certificateKey.ts';

test('serials: the forms openssl prints all give the DER contents hex the certificate parser gives', () => {
  assert.equal(normaliseSerialHex('80AA'), '0080AA', 'top bit set: DER keeps a 00 sign octet');
  assert.equal(normaliseSerialHex('0080aa'), '0080AA');
  assert.equal(normaliseSerialHex('serial=80AA'), '0080AA');
  assert.equal(normaliseSerialHex('80:aa'), '0080AA');
  assert.equal(normaliseSerialHex('0x80aa'), '0080AA');
  assert.equal(normaliseSerialHex('5'), '05');
  assert.equal(normaliseSerialHex('0005'), '05', 'leading zeros do not change the number');
  assert.equal(normaliseSerialHex(' 7fff '), '7FFF');
});

test('serials: negative, zero, decimal forms, junk and oversize are refused, not guessed', () => {
  for (const [input, message] of [
    ['-01', /negative/],
    ['0', /positive/],
    ['00', /positive/],
    ['1234 (0x4d2)', /decimal form/],
    ['12g4', /not hexadecimal/],
    ["1' OR '1'='1", /not hexadecimal/],
    ['', /not hexadecimal/],
    ['8:0', /not hexadecimal/],
    ['1'.repeat(130), /longer than 64 octets/],
  ] as const) {
    assert.throws(() => normaliseSerialHex(input), (error: unknown) => error instanceof OperatorInputError && message.test(error.message), input);
  }
});

test('issuers: RFC 4514 variants meet in one canonical form; what does not parse is refused', () => {
  assert.equal(canonicalIssuer('CN=Test Citizen CA,O=Yagona Test,C=UZ'), canonicalIssuer('cn=test  citizen ca, o=YAGONA TEST, c=uz'));
  assert.throws(() => canonicalIssuer('CN'), OperatorInputError);
  assert.throws(() => canonicalIssuer('XX=whatever'), OperatorInputError);
  assert.throws(() => canonicalIssuer('   '), /empty/);
});

test('reasons: RFC 5280 §5.3.1 names only; removeFromCRL is not a revocation', () => {
  assert.equal(parseReason('keyCompromise'), 'keyCompromise');
  assert.equal(parseReason('certificateHold'), 'certificateHold');
  assert.throws(() => parseReason('keycompromise'), /not an RFC 5280 reason/);
  assert.throws(() => parseReason('removeFromCRL'), /not an RFC 5280 reason/);
  assert.equal(reasonFromCode(undefined), 'unspecified');
  assert.equal(reasonFromCode(1), 'keyCompromise');
  assert.equal(reasonFromCode(8), 'removeFromCRL');
  assert.equal(reasonFromCode(7), undefined, 'code 7 is unused');
});
