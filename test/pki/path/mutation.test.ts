// Mutation sweep (docs/security-cases.md §J 140 in miniature): random byte changes and truncations of
// a valid certificate and CRL must end in a ServiceError (never a TypeError, never a hang),
// and no changed certificate or CRL may be accepted.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isServiceError } from '../../../src/errors.ts';
import { parseCertificate } from '../../../src/pki/x509/certificate.ts';
import { validate } from '../../../src/pki/path/validate.ts';
import { crlFor, hierarchy, type Issued, now } from '../chainFixtures.ts';

let root: Issued;
let ca: Issued;
let leaf: Issued;
let revokingCrl: Uint8Array;
let rootCrl: Uint8Array;

before(async () => {
  ({ root, ca, leaf } = await hierarchy('Mutation'));
  revokingCrl = await crlFor(ca, { revoked: [{ cert: leaf }] });
  rootCrl = await crlFor(root);
});

function mutants(source: Uint8Array, count: number, seed: number): Uint8Array[] {
  let state = seed;
  const rnd = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const out: Uint8Array[] = [];
  while (out.length < count) {
    const m = Uint8Array.from(source);
    for (let j = 1 + rnd(3); j > 0; j--) {
      const at = rnd(m.length);
      m[at] = rnd(3) === 0 ? m[at]! ^ (1 << rnd(8)) : rnd(256);
    }
    const candidate = rnd(10) === 0 ? m.subarray(0, rnd(m.length)) : m;
    if (Buffer.compare(Buffer.from(candidate), Buffer.from(source)) !== 0) out.push(candidate);
  }
  return out;
}

function outcome(fn: () => unknown): 'accepted' | 'rejected' {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    assert.ok(isServiceError(err), `not a ServiceError: ${String(err)}`);
    return 'rejected';
  }
}

describe('mutated inputs', () => {
  it('a changed leaf certificate is never accepted', () => {
    for (const m of mutants(leaf.der, 3000, 1)) {
      assert.equal(outcome(() => validate({ leaf: parseCertificate(m), anchors: [root.cert], intermediates: [ca.cert], at: now })), 'rejected');
    }
  });

  it('a changed CRL never un-revokes the leaf', () => {
    for (const m of mutants(revokingCrl, 3000, 2)) {
      assert.equal(outcome(() => validate({ leaf: leaf.cert, anchors: [root.cert], intermediates: [ca.cert], at: now, crls: [rootCrl, m] })), 'rejected');
    }
  });
});
