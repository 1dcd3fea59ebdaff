// A signature plug-in for the test suite (docs/signature-plugins.md): Ed448 (RFC 8410, RFC 8032)
// through node:crypto, a family the service does not build in. It uses only what a plug-in may:
// the registry's types and `refuse`.
import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { refuse, type SignatureFamily } from '../../../src/pki/algorithms/registry.ts';

const ed448 = '1.3.101.113';

export const families: SignatureFamily[] = [{
  name: 'ed448',
  title: 'Ed448',
  keys: [{
    oid: ed448,
    title: 'Ed448',
    read(spki) {
      // RFC 8410 §3: parameters absent; the key is 57 octets.
      if (spki.algorithm.parameters !== undefined || spki.key.length !== 57) throw refuse.malformed('Ed448 key: bad encoding');
      return { algorithm: ed448, description: 'Ed448', material: createPublicKey({ key: Buffer.from(spki.der), format: 'der', type: 'spki' }) };
    },
  }],
  signatures: [{
    oid: ed448,
    title: 'Ed448',
    scheme(parameters) {
      if (parameters !== undefined) throw refuse.malformed('Ed448 signature parameters must be absent');
      return {
        // RFC 8419 §2.3: in CMS, Ed448 goes with SHAKE256.
        digest: '2.16.840.1.101.3.4.2.12',
        keys: [ed448],
        verify: (key, data, signature) => key.material instanceof KeyObject && signature.length === 114 && verify(null, data, key.material, signature),
      };
    },
  }],
  digests: [],
}];
