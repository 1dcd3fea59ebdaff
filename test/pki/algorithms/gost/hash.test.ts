// GOST R 34.11-94 (O'zDSt 1106) and Streebog against published vectors, the real E-IMZO
// messageDigest, and OpenSSL's gost engine over many lengths.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { cryptoProSbox, gostR341194, testSbox } from '../../../../src/pki/algorithms/gost/gost94.ts';
import { streebog } from '../../../../src/pki/algorithms/gost/streebog.ts';
import { openGostEngine, readVector } from './gostEngine.ts';

const engine = openGostEngine();
after(() => engine.cleanup());

const text = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
// RFC 5831 and RFC 6986 print values as numbers, most significant byte first: the reverse of the bytes.
const rfcNumber = (digits: string) => Buffer.from(digits, 'hex').reverse().toString('hex');
// Lengths around the 32- and 64-byte block edges, then some longer ones.
const LENGTHS = [1, 2, 31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 129, 200, 1000, 4097];

describe('GOST R 34.11-94', () => {
  it('RFC 5831 §7.3.1 and §7.3.2 examples, with the test parameter set', () => {
    assert.equal(hex(gostR341194(text('This is message, length=32 bytes'), testSbox)),
      rfcNumber('FAFF37A615A816691CFF3EF8B68CA247E09525F39F8119832EB81975D366C4B1'));
    assert.equal(hex(gostR341194(text('Suppose the original message has length = 50 bytes'), testSbox)),
      rfcNumber('0852F5623B89DD57AEB4781FE54DF14EEAFBC1350613763A0D770AA657BA1A47'));
  });

  it('CryptoPro parameter set (O\'zDSt 1106) vectors of the vectors README, the empty message included', () => {
    const vectors: Array<[string, string]> = [
      ['This is message, length=32 bytes', '2cefc2f7b7bdc514e18ea57fa74ff357e7fa17d652c75f69cb1be7893ede48eb'],
      ['Suppose the original message has length = 50 bytes', 'c3730c5cbccacf915ac292676f21e8bd4ef75331d9405e5f1a61dc3130a65011'],
      ['The quick brown fox jumps over the lazy dog', '9004294a361a508c586fe53d1f1b02746765e71b765472786e4770d565830a76'],
      ['', '981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0'],
    ];
    for (const [message, digest] of vectors) assert.equal(hex(gostR341194(text(message))), digest, message);
    assert.equal(gostR341194(text('x'), cryptoProSbox).length, 32);
  });

  it('the messageDigest of a real E-IMZO CMS over its content', () => {
    const expected = new TextDecoder().decode(readVector('hash-expected.hex')).trim();
    assert.equal(hex(gostR341194(readVector('hash-input.txt'))), expected);
  });

  it('agrees with OpenSSL\'s gost engine on random messages of every block-edge length, and leaves them unchanged', () => {
    for (const length of LENGTHS) {
      const message = randomBytes(length);
      const copy = Buffer.from(message);
      assert.equal(hex(gostR341194(message)), hex(engine.digest('md_gost94', message)), `length ${length}`);
      assert.deepEqual(message, copy);
    }
  });

  it('the S-box is a parameter: another S-box gives another hash, a malformed one is refused', () => {
    assert.notEqual(hex(gostR341194(text('abc'), testSbox)), hex(gostR341194(text('abc'))));
    assert.throws(() => gostR341194(text('abc'), cryptoProSbox.slice(1)), TypeError);
  });
});

describe('Streebog (GOST R 34.11-2012)', () => {
  // RFC 6986 §10: M1 is the 63 digits below; M2 is 72 bytes of Cyrillic text in CP1251.
  const m1 = text('012345678901234567890123456789012345678901234567890123456789012');
  const m2 = Buffer.from('d1e520e2e5f2f0e82c20d1f2f0e8e1eee6e820e2edf3f6e82c20e2e5fef2fa20f120eceef0ff20f1f2f0e5ebe0ece820ede020f5f0e0e1f0fbff20efebfaeafb20c8e3eef0e5e2fb', 'hex');

  it('RFC 6986 §10.1 and §10.2 examples, 512 and 256 bits', () => {
    assert.equal(hex(streebog(m1, 512)), rfcNumber('486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b'));
    assert.equal(hex(streebog(m1, 256)), rfcNumber('00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d'));
    assert.equal(hex(streebog(m2, 512)), rfcNumber('28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f037613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e'));
    assert.equal(hex(streebog(m2, 256)), rfcNumber('508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d'));
  });

  it('agrees with OpenSSL\'s gost engine on random messages, the empty one included, and leaves them unchanged', () => {
    for (const length of [0, ...LENGTHS]) {
      const message = randomBytes(length);
      const copy = Buffer.from(message);
      assert.equal(hex(streebog(message, 256)), hex(engine.digest('md_gost12_256', message)), `256, length ${length}`);
      assert.equal(hex(streebog(message, 512)), hex(engine.digest('md_gost12_512', message)), `512, length ${length}`);
      assert.deepEqual(message, copy);
    }
  });
});
