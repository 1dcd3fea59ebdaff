// The PKCS #12 MAC key derivation hands the event loop back while it iterates: what keeps the
// sign-in page answering clicks while a key file with many iterations opens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pkcs12MacKey } from '../../../src/pki/pkcs12/macKey.ts';

test('other work runs between slices of iterations', async () => {
  const iterations = 200_000;
  let turns = 0;
  let next: NodeJS.Immediate;
  const turn = () => {
    turns += 1;
    next = setImmediate(turn);
  };
  next = setImmediate(turn);
  await pkcs12MacKey('SHA-256', 'parol', new Uint8Array(8), iterations);
  clearImmediate(next);
  // At least one turn per 10 000 iterations (a few ms on a phone); a loop run in one go, as
  // pkijs's, leaves none.
  assert.ok(turns >= iterations / 10_000, `${turns} turns`);
});
