// Prometheus metrics (docs/operations.md "Monitoring"): sign-ins by outcome code and their
// latency, requests refused by a rate limit, store failures, CRL reads.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  observeSignIn(outcome: string, seconds: number): void;
  /** A request refused by the named limit. */
  rateLimited(limit: string): void;
  /** A request answered 503 because Redis, the in-process store or the database failed. */
  storeFailed(store: string): void;
  /** A CRL read in a worker thread (src/revocation/crlReader.ts): how long, how many entries. */
  crlRead(read: { startedAt: number; endedAt: number; entries: number }): void;
}

export interface MetricsOptions {
  defaultMetrics: boolean;
  /** Seconds since the revocation registry last answered this instance's poll. */
  revocationPollAgeSeconds?: () => number;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const pollAge = options.revocationPollAgeSeconds;
  if (pollAge !== undefined) {
    new Gauge({
      name: 'yagona_revocation_poll_age_seconds',
      help: 'Seconds since the revocation registry last answered this instance (normally under 0.25; above 1 every session check asks SQL itself)',
      registers: [registry],
      collect() {
        this.set(pollAge());
      },
    });
  }
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'yagona_' });
  const signIns = new Counter({
    name: 'yagona_sign_ins_total',
    help: 'Sign-in attempts by outcome: "success" or the error code',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'yagona_sign_in_duration_seconds',
    help: 'Time to answer a sign-in request',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const limited = new Counter({
    name: 'yagona_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit, by limit',
    labelNames: ['limit'],
    registers: [registry],
  });
  const storeFailures = new Counter({
    name: 'yagona_store_errors_total',
    help: 'Requests answered 503 because a store did not answer, by store (redis, memory, sql)',
    labelNames: ['store'],
    registers: [registry],
  });
  // The parse and signature check of a list run off the event loop but on the machine's cores:
  // operators see what a national list costs each instance (issue 12 target 5).
  const crlReads = new Histogram({
    name: 'yagona_crl_read_seconds',
    help: 'Time a worker thread took to parse a CRL and check its signature (off the event loop)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const crlEntries = new Gauge({
    name: 'yagona_crl_entries',
    help: 'Entries of the CRL this instance read last',
    registers: [registry],
  });
  return {
    registry,
    observeSignIn(outcome, seconds) {
      signIns.inc({ outcome });
      duration.observe({ outcome }, seconds);
    },
    rateLimited: (limit) => limited.inc({ limit }),
    storeFailed: (store) => storeFailures.inc({ store }),
    crlRead({ startedAt, endedAt, entries }) {
      crlReads.observe((endedAt - startedAt) / 1000);
      crlEntries.set(entries);
    },
  };
}
