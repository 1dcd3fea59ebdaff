// `npm run conformance [-- --json] [-- --suite pkits|limbo]`: runs the service's validate()
// over NIST PKITS and x509-limbo (test/data/conformance), each case in a worker thread with
// a 5 s limit, and prints agreement per suite. Exit 1 on a false accept, a hang or an
// undeclared disagreement.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { type Case, conformanceDir, loadLimbo, loadPkits, type Outcome, type SuiteSummary } from './conformance/cases.ts';

const caseTimeoutMs = 5000;

interface Result {
  c: Case;
  outcome: Outcome | 'hang';
}

/** A worker with the validator loaded: the 5 s of a case measure the case, not module loading on a busy machine. */
function startWorker(): Promise<Worker> {
  // Workers do not inherit tsx's loader: register it first, then load the TypeScript worker.
  const api = import.meta.resolve('tsx/esm/api');
  const script = new URL('./conformance/worker.ts', import.meta.url).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(script)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  });
}

async function runAll(cases: Case[]): Promise<Result[]> {
  const results: Result[] = new Array(cases.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    let worker = await startWorker();
    while (next < cases.length) {
      const index = next++;
      const c = cases[index]!;
      const outcome = await runInWorker(worker, c);
      // A hung or crashed worker is replaced, so one bad case cannot stall the rest.
      if (outcome === 'hang' || outcome.code === 'worker_error') {
        await worker.terminate();
        worker = await startWorker();
      }
      results[index] = { c, outcome };
    }
    await worker.terminate();
  };
  const lanes = Math.max(1, Math.min(4, availableParallelism()));
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

function runInWorker(worker: Worker, c: Case): Promise<Outcome | 'hang'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish('hang'), caseTimeoutMs);
    const onMessage = (outcome: Outcome): void => finish(outcome);
    const onError = (err: Error): void => finish({ accepted: false, code: 'worker_error', detail: err.message });
    function finish(outcome: Outcome | 'hang'): void {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      resolve(outcome);
    }
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage(c);
  });
}


function summarize(suite: string, results: Result[]): SuiteSummary {
  const summary: SuiteSummary = { suite, agree: 0, falseAccepts: 0, falseRejects: 0, declaredRejects: 0, hangs: 0, disagreements: [] };
  for (const { c, outcome } of results) {
    const expected = c.expectAccept ? 'accept' : 'reject';
    if (outcome === 'hang') {
      summary.hangs++;
      summary.disagreements.push({ id: c.id, expected, got: 'hang (> 5 s)' });
      continue;
    }
    if (outcome.accepted === c.expectAccept) {
      summary.agree++;
      continue;
    }
    if (outcome.accepted) summary.falseAccepts++;
    else if (c.declared !== undefined) summary.declaredRejects++;
    else summary.falseRejects++;
    const got = outcome.accepted ? 'accept' : `reject ${outcome.code}: ${outcome.detail}`;
    summary.disagreements.push({ id: c.id, expected, got, ...(c.declared === undefined ? {} : { declared: c.declared }) });
  }
  return summary;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const only = args.includes('--suite') ? args[args.indexOf('--suite') + 1] : undefined;
  const suites: Array<[string, Case[]]> = [['PKITS', loadPkits()], ['LIMBO', loadLimbo()]];
  const selected = suites.filter(([name]) => only === undefined || name.toLowerCase() === only.toLowerCase());
  const all = selected.flatMap(([, cases]) => cases);
  const results = await runAll(all);
  const summaries = selected.map(([name, cases]) => summarize(name, results.filter((r) => cases.includes(r.c))));
  const passed = summaries.reduce((n, s) => n + s.agree, 0);
  const failed = all.length - passed;
  const bad = summaries.some((s) => s.falseAccepts > 0 || s.hangs > 0 || s.falseRejects > 0);
  if (json) {
    console.log(JSON.stringify({ suites: summaries, passed, failed }, null, 2));
  } else {
    for (const s of summaries) {
      console.log(`${s.suite}: ${s.agree} agree, ${s.falseAccepts} false accepts, ${s.falseRejects + s.declaredRejects} false rejects, ${s.hangs} hangs`);
      if (s.declaredRejects > 0) console.log(`  (${s.declaredRejects} of the false rejects are declared: unsupported features or policy, marked below)`);
    }
    for (const s of summaries) {
      for (const d of s.disagreements) {
        const note = d.declared === undefined ? '' : ` [declared: ${d.declared}]`;
        console.log(`  ${s.suite} ${d.id}: expected ${d.expected}, got ${d.got}${note}`);
      }
    }
    console.log(`${passed} passed, ${failed} failed`);
  }
  process.exitCode = bad ? 1 : 0;
}

if (!existsSync(conformanceDir)) {
  // The suites are part of the repository; no data is a failure, not a skip.
  console.error(`conformance suites not found at ${conformanceDir} (they are part of the repository: is the checkout complete?)`);
  process.exit(1);
}
await main();
