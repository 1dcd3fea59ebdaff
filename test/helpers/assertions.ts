// Rejections are ServiceErrors with a stable code; tests assert on the code, and on the detail
// only where the detail is what the test is about (which of several checks refused).
import assert from 'node:assert/strict';
import { isServiceError, type ErrorCode } from '../../src/errors.ts';

function matches(error: unknown, code: ErrorCode, detail?: RegExp): true {
  assert.ok(isServiceError(error), `expected a ServiceError, got ${String(error)}`);
  assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
  if (detail !== undefined) assert.match(error.message, detail);
  return true;
}

/** `action` throws a ServiceError with `code` (and a message matching `detail`, when given). */
export function assertCode(action: () => unknown, code: ErrorCode, detail?: RegExp): void {
  assert.throws(action, (error: unknown) => matches(error, code, detail));
}

/** `work` rejects with a ServiceError with `code` (and a message matching `detail`, when given). */
export async function assertRejectsCode(work: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode, detail?: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => matches(error, code, detail));
}

/**
 * `work` (synchronous) costs this process less than `limitMs` of CPU: the "fails fast" of a
 * parser or validator fed hostile input. CPU time, not wall time, so a busy machine that keeps
 * the process waiting does not make it fail; a quadratic blow-up still does.
 */
export function assertCpuBelow(limitMs: number, work: () => void): void {
  const started = process.cpuUsage();
  work();
  const { user, system } = process.cpuUsage(started);
  const usedMs = (user + system) / 1000;
  assert.ok(usedMs < limitMs, `used ${usedMs.toFixed(1)} ms of CPU, the budget is ${limitMs} ms`);
}
