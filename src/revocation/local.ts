// The operators' own registry (SQL, the source of truth): it always applies, before any CRL or
// OCSP answer, and covers every certificate on the path, not only the leaf (an intermediate
// revoked locally takes every citizen under it with it).
import { ServiceError } from '../errors.ts';
import type { ParsedCertificate } from '../pki/model.ts';
import { canonicalDn } from '../pki/name.ts';
import type { RevocationStore } from '../stores/types.ts';
import type { RevocationChecker } from '../login/signIn.ts';

export function createLocalRevocationChecker(store: RevocationStore): RevocationChecker {
  return {
    async assertNotRevoked(path) {
      const records = await Promise.all(path.map((cert) => store.find(canonicalDn(cert.issuer), cert.serialHex)));
      const index = records.findIndex((record) => record !== undefined);
      if (index === -1) return;
      const cert = path[index] as ParsedCertificate;
      const what = index === 0 ? 'the certificate' : `the issuing CA certificate "${cert.subject.text}"`;
      throw new ServiceError('certificate_revoked', `${what} was revoked (${records[index]?.reason ?? 'unspecified'})`);
    },
  };
}
