// How one instance learns of revocations within a second without reading the registry per
// request (issue 4, SECURITY-CASES #120-122). The registry in SQL is the truth; its epoch
// (one counter row, bumped in the transaction of every change) is polled every `pollMs`
// with one tiny query, and a Redis message from `admin revoke` makes the poll happen at
// once. On a new epoch the instance reads what changed, refuses those certificates'
// sessions from then on, and ends the sessions indexed under them in its own store — the
// one place the embedded default's in-process sessions can be reached from.
import { ServiceError } from '../errors.ts';
import { endCertificateSessions } from '../login/sessions.ts';
import type { CertificateKey, EphemeralStore, Notifier, RevocationChange, RevocationStore } from '../stores/types.ts';
import { keyText } from './certificateKey.ts';

/** The pub/sub channel `admin revoke` publishes `{ epoch }` on after its commit. */
export const revocationChannel = 'revocations';

export interface RevocationWatcherOptions {
  registry: RevocationStore;
  sessions: EphemeralStore;
  notifier?: Notifier;
  log: { warn(object: object, message: string): void; info(object: object, message: string): void };
  /** The longest session life: a certificate revoked longer ago than that has no session left. */
  sessionTtlSeconds: number;
  /** Told of each newly revoked certificate after its sessions end (OIDC back-channel logout). */
  onRevoked?: (certificate: CertificateKey & { sha256?: string }) => Promise<void>;
  pollMs?: number;
  /**
   * Fail closed: when the registry has not answered for this long, this instance cannot know
   * whether a session's certificate was revoked meanwhile, so sessions are refused (503).
   */
  staleAfterMs?: number;
}

export interface RevocationWatcher {
  /** Reads the epoch and what was revoked within a session lifetime, then polls and listens. */
  start(): Promise<void>;
  /** Whether any certificate of `path` was revoked lately; throws `unavailable` when stale. */
  isRevoked(path: readonly CertificateKey[]): boolean;
  /** Polls now; resolves once the changes up to the current epoch are applied. */
  refresh(): Promise<void>;
  /** The last epoch applied. */
  epoch(): number;
  /** Resolves when the sessions of everything applied so far have been ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const defaultPollMs = 250;
const defaultStaleAfterMs = 1000;
// Sessions are ended in batches so a CRL import of 100 000 entries neither floods the store
// nor holds up the next poll.
const endBatch = 100;
// Covers clock skew between instances and the store's TTL rounding.
const expiryMarginMs = 5000;
const pruneEveryPolls = 40;

export function createRevocationWatcher(options: RevocationWatcherOptions): RevocationWatcher {
  const { registry, sessions, notifier, log, sessionTtlSeconds } = options;
  const pollMs = options.pollMs ?? defaultPollMs;
  const staleAfterMs = options.staleAfterMs ?? defaultStaleAfterMs;
  const keepMs = sessionTtlSeconds * 1000 + expiryMarginMs;
  // Certificate → when it stops mattering (monotonic ms): every session it could have had is expired.
  const recent = new Map<string, number>();
  let applied = 0;
  let lastAnswer = -Infinity;
  let polls = 0;
  let failing = false;
  let inFlight: Promise<void> | undefined;
  let ending: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let closed = false;

  const now = () => performance.now();

  function apply(changes: readonly RevocationChange[]): void {
    const until = now() + keepMs;
    for (const change of changes) {
      if (change.kind === 'revoked') recent.set(keyText(change), until);
      else recent.delete(keyText(change));
    }
  }

  function endSessions(revoked: readonly RevocationChange[]): void {
    if (revoked.length === 0) return;
    ending = ending.then(async () => {
      let ended = 0;
      for (let start = 0; start < revoked.length && !closed; start += endBatch) {
        const batch = revoked.slice(start, start + endBatch);
        const counts = await Promise.all(batch.map((change) => endCertificateSessions(sessions, change)));
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
    const { epoch, changes } = await registry.changesSince(applied);
    lastAnswer = now();
    if (failing) log.info({ epoch }, 'the revocation registry answers again');
    failing = false;
    if (epoch <= applied) return;
    apply(changes);
    applied = epoch;
    endSessions(changes.filter((change) => change.kind === 'revoked'));
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
    const at = now();
    for (const [key, until] of recent) if (until < at) recent.delete(key);
  }

  return {
    async start() {
      const startedAt = now();
      applied = await registry.epoch();
      // Revocations recorded within a session lifetime may still have sessions (made by
      // other instances before this one started): refuse them too.
      const since = new Date(Date.now() - keepMs);
      for (const record of await registry.recordedSince(since)) {
        const age = Date.now() - (record.recordedAt ?? since).getTime();
        recent.set(keyText(record), startedAt + keepMs - age);
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

    isRevoked(path) {
      if (now() - lastAnswer > staleAfterMs) {
        throw new ServiceError('unavailable', 'revocation status is temporarily unknown', { retryAfterSeconds: 1 });
      }
      if (recent.size === 0) return false;
      return path.some((key) => (recent.get(keyText(key)) ?? -Infinity) >= now());
    },

    refresh,
    epoch: () => applied,
    settled: () => ending,

    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await unsubscribe?.().catch(() => undefined);
      await Promise.allSettled([inFlight, ending]);
    },
  };
}
