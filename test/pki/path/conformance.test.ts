// Regression guard for `npm run conformance`: no false accept, no hang, and at least the
// agreement reached when this was written (PKITS's 7 rejections are declared: DSA unsupported,
// and the policy of refusing a CA certificate as the leaf).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SuiteSummary } from '../../../scripts/conformance/cases.ts';

type Summary = Omit<SuiteSummary, 'disagreements'>;

describe('conformance (PKITS, x509-limbo)', () => {
  const repo = fileURLToPath(new URL('../../..', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/conformance.ts', '--json'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  // The suites are vendored test data (test/data/conformance); a missing report says why.
  assert.ok(run.stdout.trim().startsWith('{'), `npm run conformance produced no report (exit ${run.status}): ${run.stderr.trim().slice(0, 500)}`);
  const report = JSON.parse(run.stdout) as { suites: Summary[] };
  const suite = (name: string): Summary => report.suites.find((s) => s.suite === name)!;

  for (const [name, agree] of [['PKITS', 242], ['LIMBO', 156]] as const) {
    it(`${name}: no false accepts, no hangs, no undeclared false rejects, ≥ ${agree} agree`, () => {
      const s = suite(name);
      assert.equal(s.falseAccepts, 0);
      assert.equal(s.hangs, 0);
      assert.equal(s.falseRejects, 0);
      assert.ok(s.agree >= agree, `${s.agree} agree`);
    });
  }

  it('the runner exits 0', () => assert.equal(run.status, 0, run.stderr));
});
