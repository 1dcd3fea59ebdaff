// The suite's files through node's test runner, in the order npm test (scripts/test.ts) gives
// them: `node --test` sorts the files it is given by name, so it would start the slowest where
// the alphabet puts them; run({ files }) keeps the order. The reporters are those of the command
// line: spec on stdout, TAP to a file (the closing counts), the slowest files on stderr. Each file
// is a process of its own with this one's node options (tsx, the per-test timeout).
//   node --import tsx --test-timeout=MS scripts/testRun.ts CONCURRENCY TAP_FILE FILE…
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import fileTimes from './testFileTimes.ts';

const [concurrency, tapFile, ...files] = process.argv.slice(2);
const events = run({ files, concurrency: Number(concurrency) });
// Three reporters each compose a pipeline onto the stream, and each adds its own listeners for
// the end: more than the ten after which node warns of a leak.
events.setMaxListeners(20);
events.on('test:fail', () => {
  process.exitCode = 1;
});
const tapOut = createWriteStream(tapFile ?? '');
events.compose(new spec()).pipe(process.stdout);
events.compose(tap).pipe(tapOut);
events.compose(fileTimes).pipe(process.stderr);
await finished(tapOut);
