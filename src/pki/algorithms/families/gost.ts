// The GOST families: O'zDSt 1092:2009-II with O'zDSt 1106:2009 (`ozdst`), the algorithms of the
// Uzbek national PKI, and GOST R 34.10-2012 with Streebog (`gost2012`). Same equation, other
// curves and hashes; the arithmetic is the gost module's (../gost/), verified on its fast path.
// What O'zDSt is exactly, established on real signatures of the national PKI, is in
// test/data/vectors/ozdst/README.md:
// - 1106:2009-2-A is GOST R 34.11-94 with the CryptoPro S-box (RFC 5831, RFC 4357 §11.2);
// - 1092:2009-II is GOST R 34.10-2001 (RFC 5832); parameter set A is CryptoPro-A, C is CryptoPro-C;
// - keys are X‖Y little-endian in an OCTET STRING inside the BIT STRING (RFC 4491 §2.3.2),
//   signatures s‖r (RFC 4491 §2.2.2), and E-IMZO writes NULL in every AlgorithmIdentifier.
import { expectSequence, parseDer, readOctetString, readOid, type DerNode } from '../../asn1/der.ts';
import { cryptoProA, cryptoProB, cryptoProC, type GostCurve, tc26Gost256A, tc26Gost512A, tc26Gost512B, tc26Gost512C } from '../gost/curves.ts';
import { decodePublicKey } from '../gost/encoding.ts';
import { gostOid } from '../gost/oids.ts';
import { gostR341194 } from '../gost/gost94.ts';
import { gostVerify } from '../gost/fast/verify.ts';
import { streebog } from '../gost/streebog.ts';
import {
  type DigestAlgorithm, isAbsentOrNull, type KeyAlgorithm, type PublicKey, refuse, type SignatureAlgorithm, type SignatureFamily,
} from '../registry.ts';
import { brokenHashes } from './sha2.ts';

export { gostOid };

interface GostKey {
  curve: GostCurve;
  /** X‖Y little-endian, as the gost module takes it. */
  raw: Uint8Array;
}

const gostKeys = new WeakSet<GostKey>();

function gostKeyOf(key: PublicKey): GostKey | undefined {
  const material = key.material as GostKey;
  return gostKeys.has(material) ? material : undefined;
}

/**
 * The SubjectPublicKeyInfo of a GOST key: parameters `SEQUENCE { publicKeyParamSet,
 * digestParamSet OPTIONAL }` naming the curve (RFC 4491 §2.3.1, RFC 9215 §4.3), the key an
 * OCTET STRING of X‖Y inside the BIT STRING (§2.3.2).
 */
function readGostKey(
  keyOid: string,
  parameters: Uint8Array | undefined,
  bitString: Uint8Array,
  curveFor: (paramSet: string, digestParamSet: string | undefined) => { curve: GostCurve; name: string },
  family: string,
): PublicKey {
  if (parameters === undefined) throw refuse.malformed(`${family} key without its parameter set`);
  const fields = expectSequence(parseDer(parameters), 1, 2, `${family} key parameters`) as [DerNode, DerNode | undefined];
  const paramSet = readOid(fields[0]);
  const digestParamSet = fields[1] === undefined ? undefined : readOid(fields[1]);
  const { curve, name } = curveFor(paramSet, digestParamSet);
  const raw = readOctetString(parseDer(bitString));
  if (raw.length !== 2 * curve.size) throw refuse.malformed(`${family} key of ${raw.length} bytes, expected ${2 * curve.size}`);
  if (decodePublicKey(curve, raw) === undefined) throw refuse.malformed(`${family} key is not a point of ${curve.name}`);
  const material: GostKey = { curve, raw: Uint8Array.from(raw) };
  gostKeys.add(material);
  return { algorithm: keyOid, description: `${family} ${name} (${curve.name})`, material };
}

/** Parameters absent (RFC 4491 §2.2.1, RFC 9215 §3.2) or NULL (E-IMZO). */
function assertNoParameters(parameters: Uint8Array | undefined, what: string): void {
  if (!isAbsentOrNull(parameters)) throw refuse.malformed(`${what} parameters must be absent or NULL`);
}

function gostSignature(oid: string, title: string, keyOid: string, digest: DigestAlgorithm): SignatureAlgorithm {
  return {
    oid,
    title,
    scheme(parameters) {
      assertNoParameters(parameters, title);
      return {
        digest: digest.oid,
        keys: [keyOid],
        verify(key, data, signature) {
          const gost = gostKeyOf(key);
          return gost !== undefined && gostVerify({ curve: gost.curve, publicKey: gost.raw, digest: digest.hash(data), signature });
        },
      };
    },
  };
}

const ozdstHash: DigestAlgorithm = { oid: gostOid.ozdstHash, title: "O'zDSt 1106:2009-2-A", hash: (data) => gostR341194(data) };

const ozdstParamSets: ReadonlyMap<string, { curve: GostCurve; name: string }> = new Map([
  [gostOid.ozdstParamSetA, { curve: cryptoProA, name: 'parameter set A' }],
  [gostOid.ozdstParamSetC, { curve: cryptoProC, name: 'parameter set C' }],
]);

const ozdstKey: KeyAlgorithm = {
  oid: gostOid.ozdstKey,
  title: "O'zDSt 1092:2009-II",
  read(spki) {
    return readGostKey(gostOid.ozdstKey, spki.algorithm.parameters, spki.key, (paramSet, digestParamSet) => {
      // Other sets are in E-IMZO's code (…2.1.3 for ID cards) but no real vector proves their
      // curves: refused by name until one does (test/data/vectors/ozdst/README.md).
      const known = ozdstParamSets.get(paramSet);
      if (known === undefined) throw refuse.unsupported(`O'zDSt 1092:2009-II parameter set ${paramSet} is not supported`);
      if (digestParamSet !== undefined) throw refuse.malformed("O'zDSt 1092:2009-II key parameters name a digest parameter set, which the national PKI never does");
      return known;
    }, "O'zDSt 1092:2009-II");
  },
};

export const ozdstFamily: SignatureFamily = {
  name: 'ozdst',
  title: "O'zDSt 1092:2009-II with O'zDSt 1106:2009",
  keys: [ozdstKey],
  signatures: [gostSignature(gostOid.ozdstSignature, "O'zDSt 1092:2009-II with O'zDSt 1106:2009", gostOid.ozdstKey, ozdstHash)],
  digests: [ozdstHash],
  weak: brokenHashes,
  names: {
    [gostOid.ozdstParamSetA]: "O'zDSt 1092:2009-II parameter set A",
    [gostOid.ozdstParamSetC]: "O'zDSt 1092:2009-II parameter set C",
  },
};

const streebog256: DigestAlgorithm = { oid: gostOid.streebog256, title: 'GOST R 34.11-2012 (Streebog) 256-bit', hash: (data) => streebog(data, 256) };
const streebog512: DigestAlgorithm = { oid: gostOid.streebog512, title: 'GOST R 34.11-2012 (Streebog) 512-bit', hash: (data) => streebog(data, 512) };

// RFC 9215 §4.3 and RFC 7836 §A: the 256-bit sets are TC26 256-A and the CryptoPro curves (also
// under their TC26 256-B…D and exchange aliases); the 512-bit sets are TC26 512-A…C.
const paramSets256: ReadonlyMap<string, GostCurve> = new Map([
  ['1.2.643.7.1.2.1.1.1', tc26Gost256A],
  ['1.2.643.7.1.2.1.1.2', cryptoProA], ['1.2.643.7.1.2.1.1.3', cryptoProB], ['1.2.643.7.1.2.1.1.4', cryptoProC],
  [cryptoProA.oid, cryptoProA], [cryptoProB.oid, cryptoProB], [cryptoProC.oid, cryptoProC],
  ['1.2.643.2.2.36.0', cryptoProA], ['1.2.643.2.2.36.1', cryptoProC],
]);
const paramSets512: ReadonlyMap<string, GostCurve> = new Map([
  [tc26Gost512A.oid, tc26Gost512A], [tc26Gost512B.oid, tc26Gost512B], [tc26Gost512C.oid, tc26Gost512C],
]);

function gost2012Key(oid: string, bits: 256 | 512, sets: ReadonlyMap<string, GostCurve>, digest: DigestAlgorithm): KeyAlgorithm {
  const title = `GOST R 34.10-2012 ${bits}-bit`;
  return {
    oid,
    title,
    read(spki) {
      return readGostKey(oid, spki.algorithm.parameters, spki.key, (paramSet, digestParamSet) => {
        const curve = sets.get(paramSet);
        if (curve === undefined) throw refuse.unsupported(`${title} parameter set ${paramSet} is not supported`);
        // RFC 9215 §4.3: the digest parameter set, when present, is the Streebog of the key size.
        if (digestParamSet !== undefined && digestParamSet !== digest.oid) throw refuse.unsupported(`${title} key with digest parameter set ${digestParamSet} is not supported`);
        return { curve, name: `parameter set ${paramSet}` };
      }, title);
    },
  };
}

export const gost2012Family: SignatureFamily = {
  name: 'gost2012',
  title: 'GOST R 34.10-2012 with Streebog',
  keys: [gost2012Key(gostOid.gost2012Key256, 256, paramSets256, streebog256), gost2012Key(gostOid.gost2012Key512, 512, paramSets512, streebog512)],
  signatures: [
    gostSignature(gostOid.gost2012Signature256, 'GOST R 34.10-2012 256-bit with Streebog-256', gostOid.gost2012Key256, streebog256),
    gostSignature(gostOid.gost2012Signature512, 'GOST R 34.10-2012 512-bit with Streebog-512', gostOid.gost2012Key512, streebog512),
  ],
  digests: [streebog256, streebog512],
  weak: brokenHashes,
  // RFC 4490 §3.2's convention, which GOST CMS producers keep for 2012: the key OID in the SignerInfo.
  cmsAliases: [
    { oid: gostOid.gost2012Key256, digest: gostOid.streebog256, signature: gostOid.gost2012Signature256 },
    { oid: gostOid.gost2012Key512, digest: gostOid.streebog512, signature: gostOid.gost2012Signature512 },
  ],
};
