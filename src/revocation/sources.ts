// Revocation for a sign-in: the local registry first, always (the operators' word wins over
// any CA answer, docs/security-cases.md §D 54), then the CA sources of REVOCATION_CHECKS for every
// certificate below the anchor (a revoked intermediate takes its citizens with it, §D 71).
// Per certificate the sources are asked in the configured order and the first definite answer
// counts; a later source is asked only when an earlier one cannot decide (§0.1 step 9: OCSP,
// falling back to a CRL). A certificate no source can decide is "unknown": 503 under
// REVOCATION_FAIL_MODE=closed, accepted with a warning under `open`.
// Runs only after the path validated (signIn.ts order), so no URL of an unvalidated
// certificate is ever fetched (§C 50).
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { ServiceError } from '../errors.ts';
import { parseCertificate } from '../pki/x509/certificate.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import { describe } from '../pki/path/validate.ts';
import type { RevocationChecker } from '../login/signIn.ts';
import type { EphemeralStore } from '../stores/types.ts';
import { createCrlSource, type CrlSourceOptions } from './crlSource.ts';
import { createOcspSource } from './ocspSource.ts';

/** One certificate of a validated path, with what a source needs to ask about it. */
export interface PathPosition {
  /** Leaf first, anchor excluded (as CertificateVerifier.validatePath returns it). */
  path: readonly ParsedCertificate[];
  index: number;
  /** The CA certificate that signed path[index]: the next one up, or the anchor. */
  issuer: ParsedCertificate;
}

export type SourceVerdict = { status: 'good' } | { status: 'unknown'; reason: string };

export interface RevocationSource {
  name: 'crl' | 'ocsp';
  /** The status of path[index]: good, or unknown with a reason; throws certificate_revoked. */
  check(position: PathPosition, at: Date): Promise<SourceVerdict>;
}

export interface RevocationCheckerOptions {
  local: RevocationChecker;
  /** In REVOCATION_CHECKS order, `local` left out (it always runs first). */
  sources: readonly RevocationSource[];
  failMode: 'closed' | 'open';
  log: Pick<Logger, 'warn'>;
}

// A CRL or responder that is down is usually back within a minute or is not coming back soon;
// half a minute lets a citizen retry without hammering it.
const retryAfterSeconds = 30;

export function createRevocationChecker(options: RevocationCheckerOptions): RevocationChecker {
  const { local, sources } = options;
  return {
    async assertNotRevoked(chain, at) {
      await local.assertNotRevoked(chain, at);
      if (sources.length === 0) return;
      const { path, anchor } = chain;
      const outcomes = await Promise.allSettled(path.map((_, index) =>
        statusOf(sources, { path, index, issuer: path[index + 1] ?? anchor }, at)));
      // A revocation anywhere on the path outweighs an unknown status elsewhere.
      const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      const revoked = failures.find((e) => e instanceof ServiceError && e.code === 'certificate_revoked');
      if (revoked !== undefined) throw revoked;
      if (failures.length > 0) throw failures[0];
      const unknown = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value !== undefined ? [o.value] : []));
      if (unknown.length === 0) return;
      if (options.failMode === 'open') {
        options.log.warn({ revocation: unknown }, 'revocation status unknown; accepted because REVOCATION_FAIL_MODE=open');
        return;
      }
      throw new ServiceError('revocation_unknown', `revocation status could not be established: ${unknown.join('; ')}`, { retryAfterSeconds });
    },
  };
}

export interface ConfiguredSourcesParts {
  config: Pick<Config,
    'revocationChecks' | 'revocationFailMode' | 'revocationAllowedHosts' | 'ocspResponders' | 'ocspTimeoutMs' | 'crlTimeoutMs' | 'crlMaxBytes' | 'signatureAlgorithms' | 'signaturePlugins'>;
  local: RevocationChecker;
  /** Shared by instances: CRLs and good OCSP verdicts until their nextUpdate. */
  store: EphemeralStore;
  /** DER trust anchors, as the verifier has them: a CRL signed by another key of a CA is validated to them. */
  anchors: readonly Uint8Array[];
  log: Pick<Logger, 'warn'>;
  clock: Clock;
  /** The accepted signature families (SIGNATURE_ALGORITHMS): CRL and OCSP signatures go through them too. */
  algorithms: SignatureAlgorithms;
  /** Told of every CRL read (the service's metrics). */
  onCrlRead?: CrlSourceOptions['onRead'];
}

/** The checker REVOCATION_CHECKS asks for: local first, then crl/ocsp in the configured order. */
export function createConfiguredRevocationChecker(parts: ConfiguredSourcesParts): RevocationChecker {
  const { config, store, log } = parts;
  const anchors = parts.anchors.map(parseCertificate);
  const sources = config.revocationChecks.flatMap((name): RevocationSource[] => {
    if (name === 'crl') {
      return [createCrlSource({
        store, anchors, log, allowedHosts: config.revocationAllowedHosts, timeoutMs: config.crlTimeoutMs, maxBytes: config.crlMaxBytes, algorithms: parts.algorithms,
        algorithmSettings: { signatureAlgorithms: config.signatureAlgorithms, signaturePlugins: config.signaturePlugins }, now: () => parts.clock.now(),
        ...(parts.onCrlRead === undefined ? {} : { onRead: parts.onCrlRead }),
      })];
    }
    if (name === 'ocsp') {
      return [createOcspSource({ store, log, responders: config.ocspResponders, allowedHosts: config.revocationAllowedHosts, timeoutMs: config.ocspTimeoutMs, algorithms: parts.algorithms })];
    }
    return [];
  });
  return createRevocationChecker({ local: parts.local, sources, failMode: config.revocationFailMode, log });
}

/** undefined when a source answered "good"; otherwise why none could decide. */
async function statusOf(sources: readonly RevocationSource[], position: PathPosition, at: Date): Promise<string | undefined> {
  const reasons: string[] = [];
  for (const source of sources) {
    const verdict = await source.check(position, at);
    if (verdict.status === 'good') return undefined;
    reasons.push(`${source.name}: ${verdict.reason}`);
  }
  return `${describe(position.path[position.index]!)}: ${reasons.join(', ')}`;
}
