// Joins the pki pieces for sign-in: the signature over the challenge (CMS or raw), then the
// path from the signer to a configured anchor, with intermediates from the request and from
// INTERMEDIATES_DIR. Anchors and known intermediates are parsed once, at start.
import { openCms } from '../pki/signin/cms.ts';
import { createTrustStore } from '../pki/path/validate.ts';
import { verifyRawSignature } from '../pki/signin/raw.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import { originContentRule } from './origin.ts';
import type { CertificateVerifier } from './signIn.ts';

export interface TrustMaterial {
  /** DER trust anchors (root CA certificates). */
  anchors: Uint8Array[];
  /** DER intermediate CA certificates known to the service. */
  intermediates: Uint8Array[];
}

// Root → national CA → sub-CA → citizen is the deepest hierarchy in use; a little headroom.
const maxDepth = 4;

export interface VerifierOptions {
  /** This service's serialized origin (of ISSUER_URL), the only one origin-bound content may name. */
  origin?: string;
  /** The accepted signature families (SIGNATURE_ALGORITHMS); default: their default. */
  algorithms?: SignatureAlgorithms;
  /** SHA-256 of the CA certificates the trust policy pins (they may lack authorityKeyIdentifier: path/profile.ts). */
  pinned?: ReadonlySet<string>;
}

export function createCertificateVerifier(trust: TrustMaterial, options: VerifierOptions = {}): CertificateVerifier {
  const store = createTrustStore(trust);
  const { algorithms } = options;
  return {
    verifySignature(request, challenge) {
      if (request.format === 'raw') {
        return verifyRawSignature({ certificates: request.certificates, algorithm: request.algorithm, signature: request.signature }, challenge, algorithms);
      }
      const content = originContentRule(options.origin, challenge);
      const evidence = openCms(request.cms, content.rule, algorithms);
      return { ...evidence, originBound: content.originBound() };
    },
    validatePath(evidence, at) {
      const presented = evidence.certificates.filter((cert) => cert !== evidence.signer);
      // requiredEku / requiredKeyUsage default to the sign-in profile (docs/path-validation.md).
      const path = store.validate({
        leaf: evidence.signer, intermediates: presented, at, maxDepth,
        ...(algorithms === undefined ? {} : { algorithms }), ...(options.pinned === undefined ? {} : { profile: { pinned: options.pinned } }),
      });
      return { path: [path.leaf, ...path.intermediates], anchor: path.anchor, policies: path.policies };
    },
  };
}
