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
import { type AlgorithmSettings, createCrlReader, type CrlReaderOptions } from './crlReader.ts';
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

/** The shared copy's index; its DER is in `slices` values of base64 under sliceKey(url, sha256, i). */
interface Shared {
  sha256: string;
  slices: number;
  fetchedAt: number;
}

// A CA may publish before nextUpdate (an urgent revocation): look again in the background once
// a copy is this old, or once less than `refreshShare` of its lifetime is left. Operators who
// cannot wait have the local registry, which applies at once.
const refreshAfterMs = 60 * 60 * 1000;
const refreshShare = 0.1;
// However a refresh ends (a server down, a bad list), the next attempt waits this long.
const refreshRetryMs = 60 * 1000;
// A 100 000-entry CRL is 4.5 MB: as one value, encoding it (JSON, the Redis protocol) would hold
// the event loop 40–170 ms, and decoding it as long on every other instance. In slices of this
// many DER octets, written and read one after the other, each costs about a millisecond.
const sliceBytes = 192 * 1024;

export function createCrlSource(options: CrlSourceOptions): RevocationSource {
  const byUrl = new Map<string, Held>();
  const inFlight = new Map<string, Promise<ParsedCrl>>();
  const refreshedAt = new Map<string, number>();
  const reader = createCrlReader({
    allowedHosts: options.allowedHosts, timeoutMs: options.timeoutMs, maxBytes: options.maxBytes, algorithms: options.algorithmSettings,
    ...(options.onRead === undefined ? {} : { onRead: options.onRead }),
  });

  function download(url: string, signerSpki: Uint8Array, background = false): Promise<ParsedCrl> {
    const running = inFlight.get(url);
    if (running !== undefined) return running;
    const started = reader.fromUrl(url, signerSpki, background).finally(() => inFlight.delete(url));
    inFlight.set(url, started);
    return started;
  }

  /** Holds and shares a downloaded CRL when it is fresh and its issuer's key verifies it. */
  async function keep(url: string, crl: ParsedCrl, signerSpki: Uint8Array, at: Date): Promise<void> {
    if (!fresh(crl, at) || !signedBy(crl, signerSpki)) return;
    const fetchedAt = at.getTime();
    byUrl.set(url, { crl, signerSpki, fetchedAt });
    const ttlSeconds = Math.ceil((crl.nextUpdate!.getTime() - fetchedAt) / 1000);
    const previous = await options.store.get<Shared>(storeKey(url));
    const slices = Math.ceil(crl.der.length / sliceBytes);
    // Slices first, under the DER's hash, then the index naming them: a reader never mixes two lists.
    for (let i = 0; i < slices; i++) {
      const slice = Buffer.from(crl.der.buffer, crl.der.byteOffset + i * sliceBytes, Math.min(sliceBytes, crl.der.length - i * sliceBytes));
      await options.store.put(sliceKey(url, crl.sha256, i), slice.toString('base64'), ttlSeconds);
    }
    const shared: Shared = { sha256: crl.sha256, slices, fetchedAt };
    await options.store.put(storeKey(url), shared, ttlSeconds);
    // The list replaced goes at once: a CA publishing hourly would otherwise leave a copy an hour
    // in Redis until each one's nextUpdate. A reader holding the old index downloads instead.
    if (previous !== undefined && previous.sha256 !== crl.sha256 && Number.isSafeInteger(previous.slices)) {
      for (let i = 0; i < previous.slices; i++) await options.store.delete(sliceKey(url, previous.sha256, i));
    }
  }

  /** The DER another instance shared for `url`, when all of it is still there. */
  async function sharedCopy(url: string): Promise<{ der: Uint8Array; fetchedAt: number } | undefined> {
    const shared = await options.store.get<Shared>(storeKey(url));
    if (shared === undefined || !Number.isSafeInteger(shared.slices)) return undefined;
    const parts: Buffer[] = [];
    for (let i = 0; i < shared.slices; i++) {
      const slice = await options.store.get<string>(sliceKey(url, shared.sha256, i));
      if (typeof slice !== 'string') return undefined;
      parts.push(Buffer.from(slice, 'base64'));
    }
    // A buffer of its own, so that it can be handed to the reading thread (transferred, not copied).
    const der = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      der.set(part, offset);
      offset += part.length;
    }
    return { der, fetchedAt: shared.fetchedAt };
  }

  function refreshInBackground(url: string, held: Held): void {
    const started = options.now().getTime();
    if (inFlight.has(url) || started - (refreshedAt.get(url) ?? 0) < refreshRetryMs) return;
    refreshedAt.set(url, started);
    download(url, held.signerSpki, true)
      // An older or equal list (by cRLNumber) never replaces the one held: a replayed CRL cannot roll back revocations.
      .then((crl) => ((crl.crlNumber ?? -1n) >= (held.crl.crlNumber ?? -1n) ? keep(url, crl, held.signerSpki, options.now()) : undefined))
      .catch((err: unknown) => options.log.warn({ err, url }, 'background CRL refresh failed; the cached CRL stays in use until its nextUpdate'));
  }

  /** A fresh, cached CRL for `url`, else a downloaded one (fresh or not: validation says which). */
  async function crlFor(url: string, issuer: ParsedCertificate, at: Date): Promise<ParsedCrl> {
    const held = byUrl.get(url);
    if (held !== undefined && fresh(held.crl, at)) {
      if (at.getTime() - held.fetchedAt > refreshAfterMs || nearlyStale(held.crl, at)) refreshInBackground(url, held);
      return held.crl;
    }
    const shared = await sharedCopy(url);
    if (shared !== undefined) {
      const crl = await reader.fromShared(shared.der, issuer.spki, `the shared copy of ${url}`);
      if (fresh(crl, at) && signedBy(crl, issuer.spki)) {
        byUrl.set(url, { crl, signerSpki: issuer.spki, fetchedAt: shared.fetchedAt });
        return crl;
      }
    }
    const crl = await download(url, issuer.spki);
    await keep(url, crl, issuer.spki, at);
    return crl;
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

function sliceKey(url: string, sha256: string, index: number): string {
  return `${storeKey(url)}:${sha256}:${index}`;
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
