// CRLs from the certificates' own distribution points (RFC 5280 §4.2.1.13), decided by the
// pki path validator's full §6.3 processing (issuer, signature by the issuer or an authorised
// CRL signer, scope, delta CRLs, nextUpdate). A CRL is shared with other instances through the
// ephemeral store until its nextUpdate, and kept parsed per process, so most sign-ins neither
// download nor parse; a copy an hour old or near its nextUpdate is refreshed in the background
// (at most once a minute per URL), so that download and parse do not delay a sign-in. Download,
// parse and signature check run in a worker thread (crlReader.ts), never on the event loop.
// Only CRLs signed by the certificate's issuer are cached: a forged or altered CRL must not
// sit in every instance's cache until the nextUpdate it claims (docs/security-cases.md §D 66).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ServiceError } from '../errors.ts';
import { type ParsedCrl, spkiKey } from '../pki/x509/crl.ts';
import type { ParsedCertificate } from '../pki/x509/model.ts';
import { validate } from '../pki/path/validate.ts';
import type { SignatureAlgorithms } from '../pki/algorithms/registry.ts';
import type { EphemeralStore } from '../stores/types.ts';
import { type AlgorithmSettings, createCrlReader, type CrlRead, type CrlReaderOptions } from './crlReader.ts';
import type { PathPosition, RevocationSource, SourceVerdict } from './sources.ts';

export interface CrlSourceOptions {
  store: EphemeralStore;
  anchors: readonly ParsedCertificate[];
  allowedHosts: readonly string[];
  timeoutMs: number;
  maxBytes: number;
  log: Pick<Logger, 'warn'>;
  /** The accepted signature families (SIGNATURE_ALGORITHMS), for path signatures. */
  algorithms: SignatureAlgorithms;
  /** How the CRL reader's threads build the same families, for CRL signatures. */
  algorithmSettings: AlgorithmSettings;
  /** For background refreshes, which have no request time of their own. */
  now(): Date;
  onRead?: CrlReaderOptions['onRead'];
}

interface Held {
  crl: ParsedCrl;
  /** SPKI of the issuer whose key verified the CRL: a refreshed copy must verify with it too. */
  signerSpki: Uint8Array;
  /** When this copy was downloaded (by this instance or, through the store, another). */
  fetchedAt: number;
}

interface Shared {
  der: string;
  fetchedAt: number;
}

// A CA may publish before nextUpdate (an urgent revocation): look again in the background once
// a copy is this old, or once less than `refreshShare` of its lifetime is left. Operators who
// cannot wait have the local registry, which applies at once.
const refreshAfterMs = 60 * 60 * 1000;
const refreshShare = 0.1;
// However a refresh ends (a server down, a bad list), the next attempt waits this long.
const refreshRetryMs = 60 * 1000;

export function createCrlSource(options: CrlSourceOptions): RevocationSource {
  const byUrl = new Map<string, Held>();
  const inFlight = new Map<string, Promise<CrlRead>>();
  const refreshedAt = new Map<string, number>();
  const reader = createCrlReader({
    allowedHosts: options.allowedHosts, timeoutMs: options.timeoutMs, maxBytes: options.maxBytes, algorithms: options.algorithmSettings,
    ...(options.onRead === undefined ? {} : { onRead: options.onRead }),
  });

  function download(url: string, signerSpki: Uint8Array): Promise<CrlRead> {
    const running = inFlight.get(url);
    if (running !== undefined) return running;
    const started = reader.fromUrl(url, signerSpki).finally(() => inFlight.delete(url));
    inFlight.set(url, started);
    return started;
  }

  /** Holds and shares a downloaded CRL when it is fresh and its issuer's key verifies it. */
  async function keep(url: string, { crl, base64 }: CrlRead, signerSpki: Uint8Array, at: Date): Promise<void> {
    if (!fresh(crl, at) || !signedBy(crl, signerSpki)) return;
    const fetchedAt = at.getTime();
    byUrl.set(url, { crl, signerSpki, fetchedAt });
    const shared: Shared = { der: base64, fetchedAt };
    await options.store.put(storeKey(url), shared, Math.ceil((crl.nextUpdate!.getTime() - fetchedAt) / 1000));
  }

  function refreshInBackground(url: string, held: Held): void {
    const started = options.now().getTime();
    if (inFlight.has(url) || started - (refreshedAt.get(url) ?? 0) < refreshRetryMs) return;
    refreshedAt.set(url, started);
    download(url, held.signerSpki)
      // An older or equal list (by cRLNumber) never replaces the one held: a replayed CRL cannot roll back revocations.
      .then((read) => ((read.crl.crlNumber ?? -1n) >= (held.crl.crlNumber ?? -1n) ? keep(url, read, held.signerSpki, options.now()) : undefined))
      .catch((err: unknown) => options.log.warn({ err, url }, 'background CRL refresh failed; the cached CRL stays in use until its nextUpdate'));
  }

  /** A fresh, cached CRL for `url`, else a downloaded one (fresh or not: validation says which). */
  async function crlFor(url: string, issuer: ParsedCertificate, at: Date): Promise<ParsedCrl> {
    const held = byUrl.get(url);
    if (held !== undefined && fresh(held.crl, at)) {
      if (at.getTime() - held.fetchedAt > refreshAfterMs || nearlyStale(held.crl, at)) refreshInBackground(url, held);
      return held.crl;
    }
    const shared = await options.store.get<Shared>(storeKey(url));
    if (shared !== undefined) {
      const { crl } = await reader.fromShared(shared.der, issuer.spki, `the shared copy of ${url}`);
      if (fresh(crl, at) && signedBy(crl, issuer.spki)) {
        byUrl.set(url, { crl, signerSpki: issuer.spki, fetchedAt: shared.fetchedAt });
        return crl;
      }
    }
    const read = await download(url, issuer.spki);
    await keep(url, read, issuer.spki, at);
    return read.crl;
  }

  return {
    name: 'crl',
    async check(position: PathPosition, at: Date): Promise<SourceVerdict> {
      const cert = position.path[position.index]!;
      const urls = distributionPointUrls(cert);
      if (urls.length === 0) return { status: 'unknown', reason: 'the certificate names no http CRL distribution point' };
      const crls: ParsedCrl[] = [];
      const problems: string[] = [];
      for (const url of urls) {
        try {
          crls.push(await crlFor(url, position.issuer, at));
        } catch (err) {
          if (!(err instanceof ServiceError)) throw err;
          problems.push(err.code === 'malformed_signature' ? `the CRL at ${url} is not a DER CRL (${err.message})` : err.message);
        }
      }
      if (crls.length === 0) return { status: 'unknown', reason: problems.join('; ') };
      try {
        // The same path again, now with this certificate's CRLs deciding its status (RFC 5280 §6.3).
        const checked = validate({
          leaf: position.path[0]!, intermediates: position.path.slice(1), anchors: options.anchors, at, crls,
          crlScope: new Set([cert.sha256]), maxDepth: position.path.length, algorithms: options.algorithms,
        });
        // Only a path through this very certificate had its status decided (another anchor of the same name would not).
        if (![checked.leaf, ...checked.intermediates].some((c) => c.sha256 === cert.sha256)) {
          return { status: 'unknown', reason: 'the CRL check validated a different path' };
        }
        return { status: 'good' };
      } catch (err) {
        if (!(err instanceof ServiceError) || err.code === 'certificate_revoked') throw err;
        return { status: 'unknown', reason: [err.message, ...problems].join('; ') };
      }
    },
  };
}

/** The http URIs of the certificate's distribution points, each once. */
function distributionPointUrls(cert: ParsedCertificate): string[] {
  const urls = (cert.crlDistributionPoints ?? [])
    .flatMap((dp) => dp.fullName ?? [])
    .flatMap((name) => (name.type === 'uri' && /^http:\/\//i.test(name.value) ? [name.value] : []));
  return [...new Set(urls)];
}

function storeKey(url: string): string {
  return `crl:${createHash('sha256').update(url).digest('hex')}`;
}

function fresh(crl: ParsedCrl, at: Date): boolean {
  return crl.nextUpdate !== undefined && crl.thisUpdate.getTime() <= at.getTime() && at.getTime() < crl.nextUpdate.getTime();
}

function nearlyStale(crl: ParsedCrl, at: Date): boolean {
  const life = crl.nextUpdate!.getTime() - crl.thisUpdate.getTime();
  return crl.nextUpdate!.getTime() - at.getTime() < life * refreshShare;
}

/** Whether the reader's thread found the CRL signed with `spki` (it checks the key it was given). */
function signedBy(crl: ParsedCrl, spki: Uint8Array): boolean {
  return crl.signatureChecks?.get(spkiKey(spki)) === true;
}
