// The BER path fuzzed as the DER path is (test/pki/path/mutation.test.ts): random byte changes
// and truncations of BER SignedData — OpenSSL's `cms -sign -stream` and E-IMZO-style output —
// must end in a ServiceError (never a TypeError, never a hang), and a changed CMS that still
// passes openCms and path validation can only be one whose change left the signer's
// certificate and the signed proof as they were (bytes outside every signature: lengths,
// end-of-contents placement, the bag's other certificates).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isServiceError } from '../../../src/errors.ts';
import { berSignedData } from '../../../src/pki/issue/ber.ts';
import { signCms } from '../../../src/pki/issue/cmsSign.ts';
import { openCms } from '../../../src/pki/signin/cms.ts';
import { validate } from '../../../src/pki/path/validate.ts';
import { parseCertificate } from '../../../src/pki/x509/certificate.ts';
import { createTestPki, type TestCert, type TestPki } from '../../helpers/opensslPki.ts';

const challenge = new TextEncoder().encode('Yagona ID sign-in\nservice: http://localhost:8080\nnonce: 4q2-7w6J1cY0Qm9Zk8xv2Lr4Tn5Ws1PaQm9Zk8xv2Lr\nissued: 2026-11-27T09:00:00.000Z');

let pki: TestPki;
let signer: TestCert;
before(() => {
  pki = createTestPki();
  signer = pki.leaf('ber-fuzz', 'p256');
});
after(() => pki.cleanup());

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
      // Bit flips, random bytes, and the bytes BER gives meaning to: 0x80 (indefinite), 00 (end of contents).
      const kind = rnd(4);
      m[at] = kind === 0 ? m[at]! ^ (1 << rnd(8)) : kind === 1 ? rnd(256) : kind === 2 ? 0x80 : 0;
    }
    const candidate = rnd(10) === 0 ? m.subarray(0, rnd(m.length)) : m;
    if (Buffer.compare(Buffer.from(candidate), Buffer.from(source)) !== 0) out.push(candidate);
  }
  return out;
}

/** openCms then the path, as the sign-in runs them; the signer's DER when both accept. */
function outcome(cms: Uint8Array): Uint8Array | 'rejected' {
  try {
    const evidence = openCms(cms, challenge);
    validate({ leaf: evidence.signer, intermediates: evidence.certificates, anchors: [parseCertificate(pki.root.certDer)], at: new Date() });
    return evidence.signer.der;
  } catch (err) {
    assert.ok(isServiceError(err), `not a ServiceError: ${String(err)}`);
    return 'rejected';
  }
}

describe('mutated BER SignedData', () => {
  const sources: Array<[string, () => Uint8Array]> = [
    ['OpenSSL cms -sign -stream, attached', () => pki.cmsSign(signer, challenge, ['-nodetach', '-stream'])],
    ['E-IMZO style, attached in 16-byte segments, root in the bag', () => berSignedData(signCms({
      content: challenge, signerCertDer: signer.certDer, extraCertDers: [pki.root.certDer], privateKey: signer.privateKey,
    }), 16)],
    ['E-IMZO style, detached', () => signCms({ content: challenge, signerCertDer: signer.certDer, privateKey: signer.privateKey, encoding: 'ber', detached: true })],
  ];
  sources.forEach(([label, make], index) => {
    it(`${label}: 3000 changed copies end in a ServiceError or in the same signer`, () => {
      const source = make();
      assert.deepEqual(outcome(source), signer.certDer, 'the unchanged CMS is accepted');
      let accepted = 0;
      for (const m of mutants(source, 3000, index + 11)) {
        const result = outcome(m);
        if (result === 'rejected') continue;
        accepted++;
        assert.deepEqual(result, signer.certDer, 'an accepted change never names another signer');
      }
      // Most changes land in signed bytes; a handful may touch only what no signature covers.
      assert.ok(accepted < 300, `${accepted} of 3000 changed copies were accepted`);
    });
  });
});
