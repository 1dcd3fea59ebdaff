// Comparisons of sign-in throughput between variants of one setup (registry size, live
// sessions, worker count) on a shared, noisy machine: the variants alternate (a, b, a, b…) so
// drift does not pass for a difference, and the best run of each is compared, since other
// load only ever slows a run down; the mean is printed beside it.

export interface Run {
  rate: number;
  p50: number;
  p99: number;
  failures: number;
}

/** Measures each variant `rounds` times in alternation, printing every run; the rates by variant. */
export async function alternateRounds(labels: readonly string[], rounds: number, measure: (variant: number) => Promise<Run>): Promise<number[][]> {
  const rates = labels.map((): number[] => []);
  const width = Math.max(...labels.map((label) => label.length));
  for (let round = 0; round < rounds; round++) {
    for (const [variant, label] of labels.entries()) {
      const run = await measure(variant);
      rates[variant]?.push(run.rate);
      console.log(`${label.padEnd(width)}  logins/s ${run.rate.toFixed(0)}  p50_ms ${run.p50.toFixed(2)}  p99_ms ${run.p99.toFixed(2)}  failures ${run.failures}`);
    }
  }
  return rates;
}

export const best = (rates: readonly number[]) => Math.max(...rates);
export const mean = (rates: readonly number[]) => rates.reduce((a, b) => a + b, 0) / (rates.length || 1);

/** Best and mean of each variant, one line. */
export function summary(labels: readonly string[], rates: readonly number[][]): string {
  return `logins/s ${labels.map((label, i) => `${label}: best ${best(rates[i] ?? []).toFixed(0)}, mean ${mean(rates[i] ?? []).toFixed(0)}`).join('; ')}`;
}

/** The relative difference of the second variant to the first, best and mean, against a ±5 % target. */
export function difference(rates: readonly number[][]): string {
  const [small = [], large = []] = rates;
  const percent = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(1)} %`;
  return `difference: best ${percent(best(small), best(large))}, mean ${percent(mean(small), mean(large))} (target: within 5 %)`;
}
