// Prometheus metrics: sign-ins by outcome code and their latency.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  observeSignIn(outcome: string, seconds: number): void;
}

export function createMetrics(options: { defaultMetrics: boolean }): Metrics {
  const registry = new Registry();
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
  return {
    registry,
    observeSignIn(outcome, seconds) {
      signIns.inc({ outcome });
      duration.observe({ outcome }, seconds);
    },
  };
}
