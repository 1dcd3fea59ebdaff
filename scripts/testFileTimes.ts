// A node:test reporter for `npm test` (scripts/testRun.ts): the time each test file took (the sum
// of its top-level tests), slowest first, so whoever makes the suite faster sees where its
// minutes go.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import process from 'node:process';

const shown = 12;

interface Event {
  type: string;
  data: { nesting?: number; file?: string; details?: { duration_ms?: number } };
}

export default async function* fileTimes(source: AsyncIterable<Event>): AsyncGenerator<string> {
  const perFile = new Map<string, number>();
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0 || event.data.file === undefined) continue;
    const file = relative(process.cwd(), event.data.file);
    perFile.set(file, (perFile.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
  }
  const sorted = [...perFile].sort((a, b) => b[1] - a[1]);
  // TEST_FILE_TIMES_FILE=test/fileTimes.json npm test refreshes the order scripts/test.ts starts files in.
  const out = process.env.TEST_FILE_TIMES_FILE;
  if (out) writeFileSync(out, `${JSON.stringify(Object.fromEntries(sorted.map(([file, ms]) => [file, Math.round(ms)])), null, 1)}\n`);
  const slowest = sorted.slice(0, shown);
  yield `slowest test files (of ${perFile.size}):\n`;
  for (const [file, ms] of slowest) yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${file}\n`;
}
