// `admin import-crl` writes its entries at a lower CPU priority (src/admin/importCrl.ts), so a
// service on the same machine keeps answering sign-ins first; the priority is put back after.
import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import { atLowPriority } from '../../src/admin/importCrl.ts';

test('the import runs at nice 10 on Linux and the thread\'s priority is put back after, also after a failure', { skip: process.platform !== 'linux' && 'per-thread nice values are Linux\'s' }, async () => {
  const before = getPriority();
  assert.equal(await atLowPriority(async () => getPriority()), Math.max(before, 10));
  assert.equal(getPriority(), before);
  await assert.rejects(atLowPriority(async () => {
    throw new Error('the store failed');
  }), /the store failed/);
  assert.equal(getPriority(), before);
});
