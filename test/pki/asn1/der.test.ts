import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseBer, parseDer, readInteger, readOid, readBitString, readTime, readString, expectTag, childAt,
  expectChildren, readBoolean, sequenceElements,
} from '../../../src/pki/asn1/der.ts';
import { assertCode, assertCpuBelow } from '../../helpers/assertions.ts';

const h = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

// Every DER refusal is malformed_signature: the bytes are not what a signature needs.
const rejects = (fn: () => unknown, pattern?: RegExp): void => assertCode(fn, 'malformed_signature', pattern);

describe('parseDer: structure', () => {
  it('parses a nested SEQUENCE with offsets and views', () => {
    const node = parseDer(h('30 06 02 01 05 04 01 ff'));
    assert.equal(node.tag, 0x30);
    assert.equal(node.cls, 0);
    assert.equal(node.constructed, true);
    assert.equal(node.headerLength, 2);
    assert.equal(node.end, 8);
    assert.equal(node.children.length, 2);
    assert.equal(readInteger(childAt(node, 0, 'int', 0x02)), 5n);
    assert.deepEqual([...childAt(node, 1, 'os').content], [0xff]);
    assert.equal(expectChildren(node, 2, 2, 'seq').length, 2);
    rejects(() => expectChildren(node, 3, 3, 'seq'));
    rejects(() => childAt(node, 2, 'third'));
    rejects(() => expectTag(node, 0x31, 'set'));
  });

  it('parses context-specific and long-form (≥31) tags', () => {
    const node = parseDer(h('a0 03 9f 1f 00'));
    assert.equal(node.cls, 2);
    assert.equal(node.tagNumber, 0);
    assert.equal(node.children[0]!.tagNumber, 31);
    assert.equal(node.children[0]!.cls, 2);
  });

  it('accepts long-form lengths that need them', () => {
    const body = new Uint8Array(200);
    const node = parseDer(new Uint8Array([0x04, 0x81, 200, ...body]));
    assert.equal(node.content.length, 200);
  });

  it('rejects trailing bytes', () => rejects(() => parseDer(h('05 00 00')), /trailing/));
  it('rejects empty input', () => rejects(() => parseDer(new Uint8Array(0))));
  it('rejects a child running past its parent', () => rejects(() => parseDer(h('30 03 04 05 00 00 00 00 00'))));
  it('rejects content that does not fill the parent exactly', () => rejects(() => parseDer(h('30 03 05 00 05'))));
});

describe('parseDer: BER forms are rejected', () => {
  it('indefinite length', () => rejects(() => parseDer(h('30 80 05 00 00 00')), /indefinite/));
  it('non-minimal length 81 05', () => rejects(() => parseDer(h('04 81 05 01 02 03 04 05')), /non-minimal/));
  it('length with a leading zero octet', () => rejects(() => parseDer(h('04 82 00 81' + '00'.repeat(129))), /leading zero/));
  it('long form with zero length octets (0x80 is indefinite)', () => rejects(() => parseDer(h('04 80'))));
  it('reserved length 0xff', () => rejects(() => parseDer(h('04 ff'))));
  it('length field longer than 4 octets', () => rejects(() => parseDer(h('04 85 01 00 00 00 00'))));
  it('long-form tag for a number below 31', () => rejects(() => parseDer(h('1f 02 01 00')), /below 31/));
  it('long-form tag padded with 0x80', () => rejects(() => parseDer(h('9f 80 1f 00')), /non-minimal/));
  it('256 KB of tag continuation bytes fail fast', () => {
    const evil = new Uint8Array(256 * 1024 + 3).fill(0x81);
    evil[0] = 0x1f;
    evil[evil.length - 2] = 0x01;
    evil[evil.length - 1] = 0x00;
    assertCpuBelow(20, () => rejects(() => parseDer(evil), /tag number too large/));
  });
  for (const [name, hex] of [
    ['constructed OCTET STRING', '24 03 04 01 00'],
    ['constructed BIT STRING', '23 04 03 02 00 00'],
    ['constructed UTF8String', '2c 03 0c 01 41'],
    ['constructed PrintableString', '33 03 13 01 41'],
    ['constructed IA5String', '36 03 16 01 41'],
    ['constructed INTEGER', '22 03 02 01 00'],
  ] as const) {
    it(name, () => rejects(() => parseDer(h(hex)), /constructed/));
  }
  it('primitive SEQUENCE', () => rejects(() => parseDer(h('10 00'))));
  it('BOOLEAN 0x01', () => rejects(() => parseDer(h('01 01 01')), /BOOLEAN/));
  it('BOOLEAN of two octets', () => rejects(() => parseDer(h('01 02 ff ff')), /BOOLEAN/));
  it('BOOLEAN true/false read back', () => {
    assert.equal(readBoolean(parseDer(h('01 01 ff'))), true);
    assert.equal(readBoolean(parseDer(h('01 01 00'))), false);
  });
  it('INTEGER with a redundant 00', () => rejects(() => parseDer(h('02 02 00 7f')), /INTEGER/));
  it('INTEGER with a redundant ff', () => rejects(() => parseDer(h('02 02 ff 80')), /INTEGER/));
  it('empty INTEGER', () => rejects(() => parseDer(h('02 00'))));
  it('NULL with content', () => rejects(() => parseDer(h('05 01 00'))));
  it('BIT STRING with unused bits set', () => rejects(() => parseDer(h('03 02 01 01'))));
  it('BIT STRING with unused count > 7', () => rejects(() => parseDer(h('03 02 08 00'))));
  it('OID arc padded with 0x80', () => rejects(() => parseDer(h('06 04 2b 80 80 01')), /OBJECT IDENTIFIER/));
  it('truncated OID', () => rejects(() => parseDer(h('06 02 2b 81'))));
  it('end-of-contents octets', () => rejects(() => parseDer(h('00 00'))));
  it('SET OF out of order', () => rejects(() => parseDer(h('31 06 02 01 02 02 01 01')), /order/));
});

describe('parseDer: limits', () => {
  it('10 000 nested SEQUENCEs fail fast on depth', () => {
    const n = 10_000;
    // Build from the inside out: each level adds a two- to four-octet header.
    let inner: Uint8Array = new Uint8Array(0);
    const parts: number[][] = [];
    let len = 0;
    for (let i = 0; i < n; i++) {
      const header = len < 0x80 ? [0x30, len] : len < 0x100 ? [0x30, 0x81, len] : len < 0x10000 ? [0x30, 0x82, len >> 8, len & 0xff] : [0x30, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
      parts.push(header);
      len += header.length;
    }
    inner = new Uint8Array(len);
    let at = 0;
    for (let i = parts.length - 1; i >= 0; i--) {
      inner.set(parts[i]!, at);
      at += parts[i]!.length;
    }
    assertCpuBelow(50, () => rejects(() => parseDer(inner), /too deep/));
  });

  it('honours a custom depth limit', () => {
    assert.equal(parseDer(h('30 02 30 00'), { maxDepth: 2 }).children.length, 1);
    rejects(() => parseDer(h('30 02 30 00'), { maxDepth: 1 }));
  });

  it('a SET of 50 000 NULLs fails on the node limit', () => {
    const count = 50_000;
    const body = new Uint8Array(count * 2).fill(0);
    for (let i = 0; i < count; i++) body[i * 2] = 0x05;
    const len = body.length;
    const der = new Uint8Array([0x30, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff, ...body]);
    rejects(() => parseDer(der), /too many/);
  });

  it('huge length 84 ff ff ff ff is rejected without allocation', () => {
    rejects(() => parseDer(h('04 84 ff ff ff ff 00')), /exceeds/);
  });
  it('length one past the buffer', () => rejects(() => parseDer(h('04 03 00 00')), /exceeds/));
});

describe('framedOnly: values left for a parser of their own', () => {
  // A [0] at depth 0 holding a SEQUENCE whose INTEGER is not DER (02 02 00 7f): framed, it is kept whole.
  const framedUnderA0 = { framedOnly: (tag: number, depth: number) => tag === 0xa0 && depth === 0 };
  it('leaves the content of the children unread, bytes whole, children empty', () => {
    const root = parseDer(h('a0 06 30 04 02 02 00 7f'), framedUnderA0);
    const child = root.children[0]!;
    assert.deepEqual([child.tag, child.children.length], [0x30, 0]);
    assert.deepEqual(child.bytes, h('30 04 02 02 00 7f'));
    rejects(() => parseDer(h('a0 06 30 04 02 02 00 7f')), /INTEGER/);
  });
  it('only under the named parent: the same bytes elsewhere are read', () => {
    rejects(() => parseDer(h('a1 06 30 04 02 02 00 7f'), framedUnderA0), /INTEGER/);
    rejects(() => parseDer(h('30 08 a0 06 30 04 02 02 00 7f'), framedUnderA0), /INTEGER/);
  });
  it('still frames them: a length past the parent, trailing bytes, an indefinite length in BER', () => {
    rejects(() => parseDer(h('a0 06 30 05 02 02 00 7f'), framedUnderA0), /exceeds/);
    rejects(() => parseDer(h('a0 07 30 04 02 02 00 7f 05'), framedUnderA0), /truncated/);
    rejects(() => parseBer(h('a0 80 30 80 05 00 00 00 00 00'), framedUnderA0), /indefinite length where DER is due/);
    assert.equal(parseBer(h('a0 80 30 02 05 00 00 00'), framedUnderA0).children[0]!.children.length, 0);
  });
});

describe('sequenceElements: a long SEQUENCE OF read one element at a time', () => {
  it('yields each element parsed on its own, and nothing for an empty SEQUENCE', () => {
    const elements = [...sequenceElements(h('30 08 02 01 05 30 03 02 01 07'))];
    assert.deepEqual(elements.map((e) => [e.tag, e.start, e.children.length]), [[0x02, 2, 0], [0x30, 5, 1]]);
    assert.equal(readInteger(elements[1]!.children[0]!), 7n);
    assert.deepEqual([...sequenceElements(h('30 00'))], []);
  });
  it('an element is as strict as parseDer, and is refused when it is reached, after those before it', () => {
    const elements = sequenceElements(h('30 07 02 01 05 30 02 02 00'));
    assert.equal(elements.next().value?.tag, 0x02);
    rejects(() => elements.next(), /INTEGER/);
    rejects(() => [...sequenceElements(h('30 03 02 02 05'))], /exceeds/);
  });
  it('refuses what is not one SEQUENCE: another tag, trailing bytes, a length past the input', () => {
    rejects(() => [...sequenceElements(h('31 03 02 01 05'))], /SEQUENCE/);
    rejects(() => [...sequenceElements(h('30 03 02 01 05 00'))], /trailing/);
    rejects(() => [...sequenceElements(h('30 04 02 01 05'))], /exceeds/);
  });
  it('the limits hold for each element, not for the whole', () => {
    const three = h('30 09 30 03 02 01 01 30 02 05 00');
    assert.equal([...sequenceElements(three, { maxNodes: 2 })].length, 2);
    rejects(() => [...sequenceElements(three, { maxNodes: 1 })], /too many/);
    rejects(() => [...sequenceElements(h('30 04 30 02 30 00'), { maxDepth: 2 })], /too deep/);
  });
});

describe('value readers', () => {
  it('readInteger: sign and magnitude', () => {
    assert.equal(readInteger(parseDer(h('02 01 ff'))), -1n);
    assert.equal(readInteger(parseDer(h('02 02 00 80'))), 128n);
    assert.equal(readInteger(parseDer(h('02 09 01 00 00 00 00 00 00 00 00'))), 1n << 64n);
  });

  it('readOid: common and large arcs', () => {
    assert.equal(readOid(parseDer(h('06 03 55 1d 13'))), '2.5.29.19');
    assert.equal(readOid(parseDer(h('06 08 2b 06 01 05 05 07 03 02'))), '1.3.6.1.5.5.7.3.2');
    assert.equal(readOid(parseDer(h('06 09 2a 86 48 86 f7 0d 01 01 0b'))), '1.2.840.113549.1.1.11');
    // 2.999 → first subidentifier 1079 = 0x88 0x37
    assert.equal(readOid(parseDer(h('06 02 88 37'))), '2.999');
  });

  it('readOid: an arc above 2^53 is rejected, never truncated to a trusted OID', () => {
    // 2.5.29.(2^64 + 19): would alias basicConstraints under 32/64-bit truncation.
    rejects(() => readOid(parseDer(h('06 0c 55 1d 82 80 80 80 80 80 80 80 80 13'))), /too large/);
  });

  it('readBitString', () => {
    const bs = readBitString(parseDer(h('03 03 06 6e 40')));
    assert.equal(bs.unusedBits, 6);
    assert.deepEqual([...bs.bytes], [0x6e, 0x40]);
  });

  it('readTime: UTCTime and GeneralizedTime strict forms', () => {
    const utc = (s: string) => parseDer(new Uint8Array([0x17, s.length, ...Buffer.from(s)]));
    const gen = (s: string) => parseDer(new Uint8Array([0x18, s.length, ...Buffer.from(s)]));
    assert.equal(readTime(utc('491231235959Z')).toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(readTime(utc('500101000000Z')).toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(readTime(gen('20500101000000Z')).toISOString(), '2050-01-01T00:00:00.000Z');
    for (const bad of ['4912312359Z', '491231235959+0100', '491231235959', '490231235959Z', '491231245959Z', '4912312359590Z']) {
      rejects(() => readTime(utc(bad)));
    }
    for (const bad of ['20500101000000.5Z', '205001010000Z', '20500230000000Z', '20500101000060Z', '00500101000000Z', '2050010100000\u0660Z']) {
      rejects(() => readTime(gen(bad)));
    }
    rejects(() => readTime(parseDer(h('04 00'))));
  });

  it('readString: character sets are checked', () => {
    const str = (tag: number, bytes: number[]) => parseDer(new Uint8Array([tag, bytes.length, ...bytes]));
    assert.equal(readString(str(0x0c, [...Buffer.from('Oʻzbekiston')])), 'Oʻzbekiston');
    assert.equal(readString(str(0x13, [...Buffer.from('UZ')])), 'UZ');
    assert.equal(readString(str(0x1e, [0x04, 0x1f])), 'П');
    rejects(() => readString(str(0x0c, [0xc3, 0x28])));
    rejects(() => readString(str(0x13, [...Buffer.from('a@b')])));
    rejects(() => readString(str(0x16, [0x80])));
    rejects(() => readString(str(0x1e, [0x00])));
    rejects(() => readString(str(0x04, [0x41])));
  });
});
