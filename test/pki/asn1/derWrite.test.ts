// The DER writer against the strict reader: whatever it writes, parseDer accepts and reads back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDer, readInteger, readOid } from '../../../src/pki/asn1/der.ts';
import { encodeLength, integer, oid, sequence, setOf, setUnsorted, tlv } from '../../../src/pki/asn1/derWrite.ts';

describe('derWrite', () => {
  it('lengths in the shortest form (X.690 §10.1)', () => {
    assert.deepEqual(encodeLength(0), Uint8Array.of(0));
    assert.deepEqual(encodeLength(127), Uint8Array.of(127));
    assert.deepEqual(encodeLength(128), Uint8Array.of(0x81, 0x80));
    assert.deepEqual(encodeLength(256), Uint8Array.of(0x82, 0x01, 0x00));
    assert.deepEqual(encodeLength(70_000), Uint8Array.of(0x83, 0x01, 0x11, 0x70));
    const big = tlv(0x04, new Uint8Array(70_000));
    assert.equal(parseDer(big).content.length, 70_000);
  });

  it('INTEGERs minimal, with a sign octet only when the top bit is set', () => {
    for (const value of [0n, 1n, 127n, 128n, 255n, 256n, 2n ** 64n, 2n ** 160n - 1n]) {
      assert.equal(readInteger(parseDer(integer(value))), value);
    }
    assert.deepEqual(integer(128), Uint8Array.of(0x02, 0x02, 0x00, 0x80));
    assert.throws(() => integer(-1), TypeError);
  });

  it('OIDs, including arcs past 2^32', () => {
    for (const dotted of ['1.2.840.113549.1.7.2', '2.5.29.14', '2.999.3', '1.2.860.3.16.1.2', '1.2.4294967297']) {
      assert.equal(readOid(parseDer(oid(dotted))), dotted);
    }
    for (const bad of ['1', '3.1', '1.40', '1.02', '1..2', 'a.b']) assert.throws(() => oid(bad), TypeError, bad);
  });

  it('SET OF sorted as DER requires; the unsorted form is refused by the reader', () => {
    const items = [integer(300), integer(2), integer(1)];
    assert.ok(parseDer(setOf(...items)));
    assert.throws(() => parseDer(setUnsorted(...items)), /not in DER order/);
    assert.ok(parseDer(sequence(...items)));
  });

  it('refuses tags that need the high-tag-number form', () => {
    assert.throws(() => tlv(0x1f), TypeError);
    assert.throws(() => tlv(0x3f), TypeError);
  });
});
