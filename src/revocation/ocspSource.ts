// OCSP (RFC 6960) for one certificate: the designated responder configured for its issuer
// (OCSP_RESPONDERS), else the responder its AIA names on an allowed host; a fresh nonce per
// request; the answer verified strictly in src/pki/ocsp/ocsp.ts. "good" is cached (the verdict only,
// never the response: its nonce was ours once) in the shared store until nextUpdate.
// "unknown" from an authorised responder counts as revoked: the CA's own responder does not
// know the certificate, so the CA did not issue it (docs/security-cases.md §D 56, Web eID).
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ServiceError } from '../errors.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import { buildOcspRequest, verifyOcspResponse } from '../pki/ocsp/ocsp.ts';
import { describe } from '../pki/path/validate.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import type { EphemeralStore } from '../stores/types.ts';
import { fetchBounded, urlProblem } from './fetchBounded.ts';
import type { PathPosition, RevocationSource, SourceVerdict } from './sources.ts';

export interface OcspSourceOptions {
  store: EphemeralStore;
  /** Designated responder URL by canonical issuer DN. */
  responders: Readonly<Record<string, string>>;
  allowedHosts: readonly string[];
  timeoutMs: number;
  log: Pick<Logger, 'warn'>;
  /** The accepted signature families (SIGNATURE_ALGORITHMS). */
  algorithms: SignatureAlgorithms;
}

// docs/security-cases.md §D 64: an OCSP response is a few KiB; a responder sending more is broken or hostile.
const maxResponseBytes = 64 * 1024;
// With our nonce the answer is made for this request, so thisUpdate is "now" give or take the
// clock difference of two NTP-synced hosts (Web eID: 2 min of age, 15 min of skew).
const maxFutureSeconds = 5 * 60;
const maxAgeSeconds = 5 * 60;
const nonceBytes = 32;

export function createOcspSource(options: OcspSourceOptions): RevocationSource {
  return {
    name: 'ocsp',
    async check(position: PathPosition, at: Date): Promise<SourceVerdict> {
      const cert = position.path[position.index]!;
      const { issuer } = position;
      const target = responderFor(cert, options);
      if (typeof target !== 'object') return { status: 'unknown', reason: target };
      const key = cacheKey(cert, issuer);
      const cached = await options.store.get<{ nextUpdate: string }>(key).catch(() => undefined);
      if (cached !== undefined && new Date(cached.nextUpdate).getTime() > at.getTime()) return { status: 'good' };
      const request = buildOcspRequest(cert, issuer, new Uint8Array(randomBytes(nonceBytes)));
      let answer;
      try {
        const der = await fetchBounded({
          url: target.url, allowedHosts: target.allowedHosts, timeoutMs: options.timeoutMs, maxBytes: maxResponseBytes,
          body: { contentType: 'application/ocsp-request', bytes: request.der }, expectContentType: 'application/ocsp-response',
        });
        answer = verifyOcspResponse({ der, request, issuer, at, maxFutureSeconds, maxAgeSeconds, algorithms: options.algorithms });
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        // An answer that does not verify may be a forgery (§D 57): worth an operator's eye in either fail mode.
        options.log.warn({ url: target.url, certificate: describe(cert), reason: err.message }, 'OCSP answer unusable');
        return { status: 'unknown', reason: err.message };
      }
      if (answer.status === 'revoked') {
        throw new ServiceError('certificate_revoked', `${describe(cert)} was revoked on ${answer.revocationTime.toISOString()} according to its OCSP responder`);
      }
      if (answer.status === 'unknown') {
        throw new ServiceError('certificate_revoked', `the OCSP responder of "${issuer.subject.text}" does not know ${describe(cert)} (treated as revoked)`);
      }
      if (answer.nextUpdate !== undefined) {
        const ttlSeconds = Math.ceil((answer.nextUpdate.getTime() - at.getTime()) / 1000);
        if (ttlSeconds > 0) await options.store.put(key, { nextUpdate: answer.nextUpdate.toISOString() }, ttlSeconds).catch(() => undefined);
      }
      return { status: 'good' };
    },
  };
}

/** Where to ask: the designated responder (always allowed), or the first AIA URL on an allowed host. */
function responderFor(cert: ParsedCertificate, options: OcspSourceOptions): { url: string; allowedHosts: readonly string[] } | string {
  const designated = options.responders[cert.issuer.canonical];
  if (designated !== undefined) {
    const { hostname, port } = new URL(designated);
    return { url: designated, allowedHosts: [`${hostname.toLowerCase()}:${port === '' ? '80' : port}`] };
  }
  const urls = cert.authorityInfoAccess?.ocsp ?? [];
  if (urls.length === 0) return 'the certificate names no OCSP responder and none is configured for its issuer';
  const url = urls.find((u) => urlProblem(u, options.allowedHosts) === undefined) ?? urls[0]!;
  return { url, allowedHosts: options.allowedHosts };
}

// The CertID's parts, hashed: issuer certificate and serial name the answer exactly.
function cacheKey(cert: ParsedCertificate, issuer: ParsedCertificate): string {
  return `ocsp:${createHash('sha256').update(`${issuer.sha256}:${cert.serialHex}`).digest('hex')}`;
}
