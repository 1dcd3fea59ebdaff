// ECDSA (`ecdsa`, RFC 5758 §3.2) on the named curves P-256, P-384 and P-521 (RFC 5480
// §2.1.1.1), and Ed25519 (`ed25519`, RFC 8410): the elliptic-curve families node:crypto verifies.
import { verify } from 'node:crypto';
import { expectSequence, expectTag, parseDer, readInteger, TAG } from '../../asn1/der.ts';
import { OID } from '../../asn1/oids.ts';
import { parsePublicKeyInfo } from '../../x509/certificate.ts';
import { type KeyAlgorithm, refuse, type SignatureAlgorithm, type SignatureFamily } from '../registry.ts';
import { importSpki, keyObjectOf } from './nodeKeys.ts';
import { brokenHashes, type Sha2, sha2Digests } from './sha2.ts';

export const ecKey: KeyAlgorithm = {
  oid: OID.ecPublicKey,
  title: 'EC',
  read(spki) {
    // RFC 5480 §2.1.1: only namedCurve; explicit parameters are CurveBall's door (CVE-2020-0601).
    const info = parsePublicKeyInfo(parseDer(spki.der));
    if (info.kind !== 'ec' || info.curve === 'other') {
      throw refuse.weak(info.kind === 'ec' && info.curveOid !== undefined
        ? `EC curve ${info.curveOid} is not P-256, P-384 or P-521`
        : 'EC key with explicit curve parameters');
    }
    return { algorithm: OID.ecPublicKey, description: `EC ${info.curve}`, material: importSpki(spki.der) };
  },
};

// X9.62 Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, both positive (CVE-2022-21449).
function wellFormed(signature: Uint8Array): boolean {
  try {
    const [r, s] = expectSequence(parseDer(signature), 2, 2, 'Ecdsa-Sig-Value');
    return readInteger(expectTag(r!, TAG.INTEGER, 'r')) > 0n && readInteger(expectTag(s!, TAG.INTEGER, 's')) > 0n;
  } catch {
    return false;
  }
}

const ecdsa = (oid: string, hash: Sha2, title: string): SignatureAlgorithm => ({
  oid,
  title,
  scheme(parameters) {
    // RFC 5758 §3.2: the parameters field MUST be absent.
    if (parameters !== undefined) throw refuse.malformed('ECDSA signature parameters must be absent');
    return {
      digest: OID[hash],
      keys: [OID.ecPublicKey],
      verify: (key, data, signature) => {
        const ec = keyObjectOf(key.material, 'ec');
        return ec !== undefined && wellFormed(signature) && verify(hash, data, { key: ec, dsaEncoding: 'der' }, signature);
      },
    };
  },
});

export const ecdsaFamily: SignatureFamily = {
  name: 'ecdsa',
  title: 'ECDSA',
  keys: [ecKey],
  signatures: [
    ecdsa(OID.ecdsaWithSHA256, 'sha256', 'ECDSA with SHA-256'),
    ecdsa(OID.ecdsaWithSHA384, 'sha384', 'ECDSA with SHA-384'),
    ecdsa(OID.ecdsaWithSHA512, 'sha512', 'ECDSA with SHA-512'),
  ],
  digests: Object.values(sha2Digests),
  weak: brokenHashes,
};

const ed25519Key: KeyAlgorithm = {
  oid: OID.ed25519,
  title: 'Ed25519',
  read(spki) {
    // RFC 8410 §3: parameters MUST be absent; the key is 32 octets.
    if (spki.algorithm.parameters !== undefined || spki.key.length !== 32) throw refuse.malformed('Ed25519 key: bad encoding');
    return { algorithm: OID.ed25519, description: 'Ed25519', material: importSpki(spki.der) };
  },
};

export const ed25519Family: SignatureFamily = {
  name: 'ed25519',
  title: 'Ed25519',
  keys: [ed25519Key],
  signatures: [{
    oid: OID.ed25519,
    title: 'Ed25519',
    scheme(parameters) {
      if (parameters !== undefined) throw refuse.malformed('Ed25519 signature parameters must be absent'); // RFC 8410 §3
      return {
        // RFC 8419 §3.1: in CMS, Ed25519 goes with SHA-512.
        digest: OID.sha512,
        keys: [OID.ed25519],
        verify: (key, data, signature) => {
          const ed = keyObjectOf(key.material, 'ed25519');
          return ed !== undefined && signature.length === 64 && verify(null, data, ed, signature);
        },
      };
    },
  }],
  digests: [sha2Digests.sha512],
  weak: brokenHashes,
};
