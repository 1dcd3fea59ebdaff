// SHA-2 (FIPS 180-4) as the RSA, RSA-PSS, ECDSA and Ed25519 families hash, and the broken
// hashes every family refuses as weak: MD5 (CVE-2004-2761) and SHA-1 (SHAttered).
import { createHash } from 'node:crypto';
import { OID } from '../../asn1/oids.ts';
import type { DigestAlgorithm } from '../registry.ts';

export type Sha2 = 'sha256' | 'sha384' | 'sha512';

const digest = (name: Sha2, title: string): DigestAlgorithm => ({
  oid: OID[name],
  title,
  hash: (data) => new Uint8Array(createHash(name).update(data).digest()),
});

export const sha2Digests: Readonly<Record<Sha2, DigestAlgorithm>> = {
  sha256: digest('sha256', 'SHA-256'),
  sha384: digest('sha384', 'SHA-384'),
  sha512: digest('sha512', 'SHA-512'),
};

export const sha2ByOid: ReadonlyMap<string, Sha2> = new Map([[OID.sha256, 'sha256'], [OID.sha384, 'sha384'], [OID.sha512, 'sha512']]);

export const brokenHashes: Readonly<Record<string, string>> = {
  [OID.md5]: 'MD5',
  [OID.sha1]: 'SHA-1',
  [OID.md2WithRSAEncryption]: 'MD2 with RSA',
  [OID.md5WithRSAEncryption]: 'MD5 with RSA',
  [OID.sha1WithRSAEncryption]: 'SHA-1 with RSA',
  [OID.ecdsaWithSHA1]: 'ECDSA with SHA-1',
  [OID.dsaWithSHA1]: 'DSA with SHA-1',
};
