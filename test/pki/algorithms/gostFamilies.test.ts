// The ozdst and gost2012 families through the one registry, as certificates, paths, CRLs, OCSP
// and CMS use them: the real national PKI (the root's own signature, root → E-IMZO CA inside its
// validity), chains and CMS made by OpenSSL's gost engine (test/helpers/gostPki.ts) for
// O'zDSt parameter sets A and C and GOST R 34.10-2012 256/512, DER and BER, attached and
// detached, and CRLs and OCSP answers their CAs signed; every bit flip refused; unknown
// parameter sets refused by name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isServiceError } from '../../../src/errors.ts';
import { builtInFamilies, defaultSignatureAlgorithms } from '../../../src/pki/algorithms/families/index.ts';
import { gostOid } from '../../../src/pki/algorithms/families/gost.ts';
import { createSignatureAlgorithms } from '../../../src/pki/algorithms/registry.ts';
import { algorithmIdentifier, oid, sequence } from '../../../src/pki/asn1/derWrite.ts';
import { signCms } from '../../../src/pki/issue/cmsSign.ts';
import { buildOcspRequest, verifyOcspResponse } from '../../../src/pki/ocsp/ocsp.ts';
import { openCms } from '../../../src/pki/signin/cms.ts';
import { validate } from '../../../src/pki/path/validate.ts';
import { parseCertificate } from '../../../src/pki/x509/certificate.ts';
import type { ParsedCertificate } from '../../../src/pki/x509/model.ts';
import { assertCode } from '../../helpers/assertions.ts';
import { engineChain, gostCases, type GostChain, signedCrl, signedOcspGood } from '../../helpers/gostPki.ts';
import { openGostEngine, readVector } from './gost/gostEngine.ts';

const algorithms = createSignatureAlgorithms({ families: builtInFamilies, enabled: ['ecdsa', 'ozdst', 'gost2012'] });
const root = parseCertificate(readVector('national-root.der'));
const eimzoCa = parseCertificate(readVector('eimzo-ca-2018.der'));
const insideCaValidity = new Date('2020-06-01T00:00:00Z');
const challenge = new TextEncoder().encode('Yagona ID sign-in\nservice: http://localhost:8080\nnonce: 8Ew0Zk4x3Qm9Zk8xv2Lr4Tn5Ws1PaQm9Zk8xv2Lr4T\nissued: 2026-11-27T09:00:00.000Z');

function flipped(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3]! ^= 0x80 >> (bit & 7);
  return copy;
}

describe('the real national PKI', () => {
  it("the national root's own signature verifies with its own key, through the default registry", () => {
    assert.equal(root.sha256, '3b97e81dfe1dd25c4cd289bb9db11f85ad48335a61a5875a891f9d84af67e2f0');
    assert.equal(defaultSignatureAlgorithms.check(root.signatureAlgorithm, root.spki, root.tbs, root.signature), true);
    assert.equal(defaultSignatureAlgorithms.publicKey(root.spki).description, "O'zDSt 1092:2009-II parameter set A (CryptoPro-A)");
    assert.equal(defaultSignatureAlgorithms.signatureScheme(root.signatureAlgorithm).title, "O'zDSt 1092:2009-II with O'zDSt 1106:2009");
  });

  it('root → E-IMZO CA: the signature verifies, and the path validates inside the CA validity', () => {
    assert.equal(defaultSignatureAlgorithms.check(eimzoCa.signatureAlgorithm, root.spki, eimzoCa.tbs, eimzoCa.signature), true);
    // As a leaf, a CA certificate is refused only at the very last step, the purpose: signature,
    // validity and CA rules of the whole path held before it. The certificate has no
    // authorityKeyIdentifier, which RFC 5280 §4.2.1.1 wants: unpinned, it is untrusted.
    assertCode(() => validate({ leaf: eimzoCa, anchors: [root], at: insideCaValidity }), 'certificate_untrusted');
    const pinned = { pinned: new Set([eimzoCa.sha256]) };
    assertCode(() => validate({ leaf: eimzoCa, anchors: [root], at: insideCaValidity, profile: pinned }), 'certificate_usage_invalid');
    assertCode(() => validate({ leaf: eimzoCa, anchors: [root], at: new Date('2023-01-01T00:00:00Z'), profile: pinned }), 'certificate_expired');
  });

  it('every flipped bit of the signature, and of each signed byte, is refused', () => {
    for (let bit = 0; bit < eimzoCa.signature.length * 8; bit++) {
      assert.equal(defaultSignatureAlgorithms.check(eimzoCa.signatureAlgorithm, root.spki, eimzoCa.tbs, flipped(eimzoCa.signature, bit)), false, `signature bit ${bit}`);
    }
    for (let byte = 0; byte < eimzoCa.tbs.length; byte++) {
      assert.equal(defaultSignatureAlgorithms.check(eimzoCa.signatureAlgorithm, root.spki, flipped(eimzoCa.tbs, byte * 8 + (byte % 8)), eimzoCa.signature), false, `tbs byte ${byte}`);
    }
  });

  it('an unknown parameter set is refused by name; a known one with a digest parameter set is malformed', () => {
    const withParamSet = (...parameters: string[]) => sequence(algorithmIdentifier(gostOid.ozdstKey, sequence(...parameters.map(oid))), root.spki.subarray(root.spki.length - 69));
    let detail = '';
    assert.throws(() => defaultSignatureAlgorithms.publicKey(withParamSet('1.2.860.3.15.1.1.2.1.3')), (error: unknown) => {
      assert.ok(isServiceError(error) && error.code === 'unsupported_algorithm');
      detail = error.message;
      return true;
    });
    assert.equal(detail, "O'zDSt 1092:2009-II parameter set 1.2.860.3.15.1.1.2.1.3 is not supported");
    assertCode(() => defaultSignatureAlgorithms.publicKey(withParamSet(gostOid.ozdstParamSetA, gostOid.ozdstHash)), 'malformed_signature');
    assert.equal(defaultSignatureAlgorithms.publicKey(withParamSet(gostOid.ozdstParamSetA)).algorithm, gostOid.ozdstKey);
  });

  it('without the ozdst family, the national root is refused in words and by number', () => {
    const international = createSignatureAlgorithms({ families: builtInFamilies, enabled: ['rsa', 'ecdsa'] });
    assert.throws(() => international.publicKey(root.spki), (error: unknown) => isServiceError(error) && error.code === 'unsupported_algorithm'
      && error.message === "O'zDSt 1092:2009-II public key 1.2.860.3.15.1.1.2.1 is not supported (the ozdst family is not in SIGNATURE_ALGORITHMS)");
    assertCode(() => validate({ leaf: eimzoCa, anchors: [root], at: insideCaValidity, algorithms: international, profile: { pinned: new Set([eimzoCa.sha256]) } }), 'unsupported_algorithm');
  });
});

describe("chains and CMS made by OpenSSL's gost engine", () => {
  const engine = openGostEngine();
  after(() => engine.cleanup());
  const chains = new Map<string, GostChain>();
  before(async () => {
    for (const c of gostCases) chains.set(c.label, await engineChain(engine, c, '31201990000017'));
  });

  for (const c of gostCases) {
    describe(c.label, () => {
      it('root → CA → citizen validates; the citizen is refused without its family', () => {
        const chain = chains.get(c.label)!;
        const leaf = parseCertificate(chain.citizen.certDer);
        const path = validate({ leaf, anchors: [parseCertificate(chain.root.der)], intermediates: [parseCertificate(chain.ca.der)], at: new Date(), algorithms });
        assert.equal(path.intermediates.length, 1);
        const without = createSignatureAlgorithms({ families: builtInFamilies, enabled: ['ecdsa', c.family === 'ozdst' ? 'gost2012' : 'ozdst'] });
        assertCode(() => validate({ leaf, anchors: [parseCertificate(chain.root.der)], intermediates: [parseCertificate(chain.ca.der)], at: new Date(), algorithms: without }), 'unsupported_algorithm');
      });

      it('CMS DER and BER, attached and detached, with signing time and the chain to the root, is opened', () => {
        const { citizen } = chains.get(c.label)!;
        for (const encoding of ['der', 'ber'] as const) {
          for (const detached of [false, true]) {
            const cms = signCms({
              content: challenge, signerCertDer: citizen.certDer, extraCertDers: citizen.chain, privateKey: citizen.privateKey,
              encoding, detached, signingTime: new Date(),
            });
            const evidence = openCms(cms, challenge, algorithms);
            assert.deepEqual(evidence.signer.der, citizen.certDer);
            assert.equal(evidence.certificates.length, 3);
          }
        }
      });

      it("CRLs the engine keys signed decide revocation through the registry; one with a flipped bit decides nothing", () => {
        const chain = chains.get(c.label)!;
        const [leaf, ca, root] = [chain.citizen.certDer, chain.ca.der, chain.root.der].map(parseCertificate) as [ParsedCertificate, ParsedCertificate, ParsedCertificate];
        const rootCrl = signedCrl(chain.root.der, chain.root.signer, []);
        const check = (caCrl: Uint8Array) => () => validate({ leaf, anchors: [root], intermediates: [ca], at: new Date(), algorithms, crls: [rootCrl, caCrl] });
        check(signedCrl(chain.ca.der, chain.ca.signer, ['7F']))();
        assertCode(check(signedCrl(chain.ca.der, chain.ca.signer, [leaf.serialHex])), 'certificate_revoked');
        const altered = signedCrl(chain.ca.der, chain.ca.signer, []);
        altered[altered.length - 1]! ^= 0x01;
        assertCode(check(altered), 'revocation_unknown');
      });

      it("an OCSP answer the CA's engine key signed verifies through the registry; altered, or without the family, it decides nothing", () => {
        const chain = chains.get(c.label)!;
        const [leaf, ca] = [chain.citizen.certDer, chain.ca.der].map(parseCertificate) as [ParsedCertificate, ParsedCertificate];
        const request = buildOcspRequest(leaf, ca, new Uint8Array(32).fill(7));
        const der = signedOcspGood(chain.ca.der, chain.ca.signer, request);
        const verify = (response: Uint8Array, families = algorithms) => () => verifyOcspResponse({
          der: response, request, issuer: ca, at: new Date(), maxFutureSeconds: 300, maxAgeSeconds: 300, algorithms: families,
        });
        assert.equal(verify(der)().status, 'good');
        const altered = Uint8Array.from(der);
        altered[altered.length - 1]! ^= 0x01;
        assertCode(verify(altered), 'revocation_unknown', /signature does not verify/);
        assertCode(verify(der, createSignatureAlgorithms({ families: builtInFamilies, enabled: ['ecdsa'] })), 'revocation_unknown', /is not supported/);
      });

      // Every bit for the 256-bit curves (O'zDSt's among them); on the 512-bit curves, whose
      // verification is pure TypeScript (about 230 a second), one bit of every byte, a different
      // one each byte: 1 024 flips there cost the suite a minute of CPU and show nothing more.
      const everyBit = c.profile.curve.size === 32;
      it(everyBit ? 'every flipped bit of the CMS signature is signature_invalid' : 'a flipped bit in every byte of the CMS signature is signature_invalid', () => {
        const { citizen } = chains.get(c.label)!;
        const cms = signCms({ content: challenge, signerCertDer: citizen.certDer, privateKey: citizen.privateKey });
        // In DER without unsigned attributes the signature value (s‖r) is the CMS's last bytes.
        const length = 2 * c.profile.curve.size;
        const bits = everyBit
          ? Array.from({ length: length * 8 }, (_, bit) => bit)
          : Array.from({ length }, (_, byte) => byte * 8 + (byte % 8));
        for (const bit of bits) {
          assertCode(() => openCms(flipped(cms, (cms.length - length) * 8 + bit), challenge, algorithms), 'signature_invalid');
        }
      });
    });
  }
});
