// How one instance learns of revocations within a second without reading the registry per
// request (issue 4, docs/security-cases.md #120-122). The registry in SQL is the truth; its epoch
// (one counter row, bumped in the transaction of every change) is polled every `pollMs`
// with one tiny query, and a Redis message from `admin revoke` makes the poll happen at
// once. On a new epoch the instance reads what changed, refuses those certificates'
// sessions from then on, and ends the sessions indexed under them in its own store — the
// one place the embedded default's in-process sessions can be reached from.
//
// What it remembers is a filter, not a copy of the registry: a 30-bit hash of each certificate
// revoked within a session lifetime, mapped to when it stops mattering (both small integers, in
// typed arrays: a million entries cost 16 MB outside the heap and nothing for the garbage
// collector to trace; recentFilter.ts). The filter has no false negatives for the epochs
// applied; a hit is confirmed in SQL, so a hash collision or a lifted hold costs one query,
// never a wrong answer.
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { ServiceError } from '../errors.ts';
import type { SessionEnding } from '../sessions/sessions.ts';
import type { CertificateKey, Notifier, RevocationChange, RevocationStore } from '../stores/types.ts';
import { keyText } from './certificateKey.ts';
import { createRecentFilter } from './recentFilter.ts';

/** The pub/sub channel `admin revoke` publishes `{ epoch }` on after its commit. */
export const revocationChannel = 'revocations';

export interface RevocationWatcherOptions {
  registry: RevocationStore;
  sessions: SessionEnding;
  notifier?: Notifier;
  log: { warn(object: object, message: string): void; info(object: object, message: string): void };
  /** The longest session life: a certificate revoked longer ago than that has no session left. */
  sessionTtlSeconds: number;
  /** Told of each newly revoked certificate after its sessions end (OIDC back-channel logout). */
  onRevoked?: (certificate: CertificateKey & { sha256?: string }) => Promise<void>;
  pollMs?: number;
  /**
   * When the last poll is older than this (the registry slow or down, the event loop busy),
   * the filter may miss a revocation, so each check asks the registry itself: still exact,
   * and refused with 503 `unavailable` if the registry does not answer (fail closed).
   */
  staleAfterMs?: number;
}

export interface RevocationWatcher {
  /** Reads the epoch and what was revoked within a session lifetime, then polls and listens. */
  start(): Promise<void>;
  /**
   * Whether any certificate of `path` was revoked lately: no query unless the filter hits
   * or the last poll is stale; throws `unavailable` when the registry does not answer then.
   */
  isRevoked(path: readonly CertificateKey[]): Promise<boolean>;
  /** Polls now; resolves once the changes up to the current epoch are applied. */
  refresh(): Promise<void>;
  /** The last epoch applied. */
  epoch(): number;
  /** Seconds since the registry last answered a poll: the revocation lag of this instance (a metric). */
  pollAgeSeconds(): number;
  /** Resolves when the sessions of everything applied so far have been ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const defaultPollMs = 250;
const defaultStaleAfterMs = 1000;
// Sessions are ended in batches so a CRL import neither floods the store nor holds up the next
// poll. Past `endAtMost` certificates in one run of polls that each found changes (a bulk
// import; on SQLite an import commits a few hundred entries at a time, so it spans many polls)
// the sessions are left to expire: the filter refuses them on every instance anyway, and two
// store round trips per entry of a million-entry CRL would be load without benefit.
const endBatch = 100;
const endAtMost = 10_000;
// Changes are read this many at a time, with the event loop's other work between pages.
const changePage = 1000;
// Covers clock skew between instances and the store's TTL rounding.
const expiryMarginMs = 5000;
const pruneEveryPolls = 40;
const preloadPage = 10_000;

/**
 * FNV-1a over the registry key, cut to 30 bits: V8 stores integers below 2^30 unboxed (Smi,
 * with pointer compression), so the filter's entries are no heap objects at all.
 */
export function filterHash(key: CertificateKey): number {
  const text = keyText(key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 2;
}

export function createRevocationWatcher(options: RevocationWatcherOptions): RevocationWatcher {
  const { registry, sessions, notifier, log, sessionTtlSeconds } = options;
  const pollMs = options.pollMs ?? defaultPollMs;
  const staleAfterMs = options.staleAfterMs ?? defaultStaleAfterMs;
  const keepMs = sessionTtlSeconds * 1000 + expiryMarginMs;
  // hash(certificate) → when it stops mattering, in whole seconds since `origin` (monotonic):
  // by then every session it could have had is expired.
  const recent = createRecentFilter();
  const origin = performance.now();
  let applied = 0;
  let lastAnswer = -Infinity;
  let polls = 0;
  let failing = false;
  let inFlight: Promise<void> | undefined;
  // Changes read by consecutive polls that each found some (an import in progress).
  let revokedInRun = 0;
  let ending: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let closed = false;

  const now = () => performance.now();
  const seconds = (ms: number) => Math.ceil((ms - origin) / 1000);

  // A lifted hold stays in the filter: the SQL confirmation answers "not revoked".
  function apply(changes: readonly RevocationChange[]): void {
    const until = seconds(now() + keepMs);
    for (const change of changes) if (change.kind === 'revoked') remember(change, until);
  }

  function remember(key: CertificateKey, until: number): void {
    recent.remember(filterHash(key), until);
  }

  function endSessions(revoked: readonly RevocationChange[]): void {
    if (revoked.length === 0) return;
    ending = ending.then(async () => {
      let ended = 0;
      for (let start = 0; start < revoked.length && !closed; start += endBatch) {
        const batch = revoked.slice(start, start + endBatch);
        const counts = await Promise.all(batch.map((change) => sessions.endForCertificate(change)));
        ended += counts.reduce((a, b) => a + b, 0);
        if (options.onRevoked !== undefined) await Promise.all(batch.map(options.onRevoked));
      }
      if (ended > 0) log.info({ ended, certificates: revoked.length }, 'ended the sessions of revoked certificates');
    }).catch((error: unknown) => {
      // The records stay in the store, but isRevoked refuses them until they expire.
      log.warn({ err: error }, 'could not end the sessions of revoked certificates (they are refused all the same)');
    });
  }

  async function poll(): Promise<void> {
    // The filter is complete up to the epoch read now only once every page is applied, so
    // the poll counts as an answer from then, dated from now: a long import read page by page
    // leaves checks asking SQL meanwhile (isRevoked's stale path), never trusting half of it.
    const askedAt = now();
    let page = await registry.changesSince(applied, { limit: changePage });
    const target = page.epoch;
    // More than `endAtMost` since the polls last found nothing is a bulk import: its sessions
    // are refused, not ended one by one. Which it is shows only once the pages are read.
    let run = page.changes.length === 0 ? 0 : revokedInRun;
    let toEnd: RevocationChange[] = [];
    for (;;) {
      apply(page.changes);
      run += page.changes.length;
      if (run <= endAtMost) toEnd = toEnd.concat(page.changes.filter((change) => change.kind === 'revoked'));
      if (page.nextAfterId === undefined) break;
      // A page is a synchronous read on SQLite: the sign-ins waiting meanwhile go first (issue 12,
      // target 5: an import read in one 10 000-row page held the event loop for tens of ms).
      await setImmediatePromise();
      page = await registry.changesSince(applied, { upTo: target, afterId: page.nextAfterId, limit: changePage });
    }
    revokedInRun = run;
    if (run > endAtMost) log.info({ epoch: target }, 'bulk revocation: sessions are refused, not ended one by one');
    else endSessions(toEnd);
    applied = Math.max(applied, target);
    lastAnswer = askedAt;
    if (failing) log.info({ epoch: target }, 'the revocation registry answers again');
    failing = false;
    if (++polls % pruneEveryPolls === 0) prune();
  }

  function refresh(): Promise<void> {
    // Coalesce: a message arriving during a poll waits for it, then polls once more.
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function tick(): void {
    refresh().catch((error: unknown) => {
      if (!failing) log.warn({ err: error }, 'the revocation registry does not answer; sessions are refused until it does');
      failing = true;
    });
  }

  function prune(): void {
    const at = seconds(now());
    recent.prune(at);
  }

  return {
    async start() {
      applied = await registry.epoch();
      // Revocations recorded within a session lifetime may still have sessions (made by
      // other instances before this one started): refuse them too.
      const since = new Date(Date.now() - keepMs);
      for (let afterId = 0; ;) {
        const page = await registry.recordedSince(since, { afterId, limit: preloadPage });
        for (const key of page) remember(key, seconds(now() + keepMs - (Date.now() - key.recordedAt.getTime())));
        if (page.length < preloadPage) break;
        afterId = page[page.length - 1]?.id ?? afterId;
      }
      lastAnswer = now();
      if (notifier !== undefined) {
        unsubscribe = await notifier.subscribe<{ epoch?: number }>(revocationChannel, (message) => {
          if (typeof message.epoch !== 'number' || message.epoch > applied) tick();
        });
      }
      timer = setInterval(tick, pollMs);
      // The poll must never be what keeps a process alive.
      timer.unref();
    },

    async isRevoked(path) {
      if (now() - lastAnswer > staleAfterMs) {
        try {
          return (await registry.findFirst(path)) !== undefined;
        } catch (cause) {
          throw new ServiceError('unavailable', 'revocation status is temporarily unknown', { cause, retryAfterSeconds: 1 });
        }
      }
      if (recent.size === 0) return false;
      const at = seconds(now());
      const hits = path.filter((key) => recent.get(filterHash(key)) >= at);
      return hits.length > 0 && (await registry.findFirst(hits)) !== undefined;
    },

    refresh,
    epoch: () => applied,
    pollAgeSeconds: () => (now() - lastAnswer) / 1000,
    settled: () => ending,

    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await unsubscribe?.().catch(() => undefined);
      await Promise.allSettled([inFlight, ending]);
    },
  };
}
