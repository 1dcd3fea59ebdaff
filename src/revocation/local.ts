// The operators' own registry (SQL, the source of truth): it always applies, before any CRL or
// OCSP answer, and covers every certificate on the path, not only the leaf (an intermediate
// revoked locally takes every citizen under it with it). One indexed query per sign-in for the
// whole path, prepared once (src/stores/sql/revocationLookup.ts), so its cost does not grow with
// the registry (a B-tree lookup: 10 or 10^6 rows differ by a level or two). Reading SQL here rather than the watcher's memory keeps a sign-in
// exact the moment `admin revoke` commits, on every instance.
import { ServiceError } from '../errors.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import type { RevocationStore } from '../stores/types.ts';
import type { RevocationChecker } from '../login/signIn.ts';

export function createLocalRevocationChecker(store: RevocationStore): RevocationChecker {
  return {
    async assertNotRevoked({ path }) {
      const keys = path.map((cert) => ({ issuer: cert.issuer.canonical, serialHex: cert.serialHex }));
      const record = await store.findFirst(keys);
      if (record === undefined) return;
      const index = keys.findIndex((key) => key.issuer === record.issuer && key.serialHex === record.serialHex);
      const cert = path[index] as ParsedCertificate;
      const what = index === 0 ? 'the certificate' : `the issuing CA certificate "${cert.subject.text}"`;
      throw new ServiceError('certificate_revoked', `${what} was revoked (${record.reason})`);
    },
  };
}
