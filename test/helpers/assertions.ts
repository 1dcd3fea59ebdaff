// Rejections are ServiceErrors with a stable code; tests assert on the code, never the text.
import assert from 'node:assert/strict';
import { isServiceError, type ErrorCode } from '../../src/errors.ts';

export function assertCode(action: () => unknown, code: ErrorCode): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(isServiceError(error), `expected a ServiceError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}
