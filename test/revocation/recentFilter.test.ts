// The watcher's filter (src/revocation/recentFilter.ts) against a Map doing the same by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRecentFilter } from '../../src/revocation/recentFilter.ts';

test('remembers the latest time per hash, grows past its capacity and prunes what stopped mattering, as a Map would', () => {
  const filter = createRecentFilter(4);
  const model = new Map<number, number>();
  let seed = 7;
  const random = (below: number) => {
    seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5 | 0;
    return (seed >>> 0) % below;
  };
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 5000; i++) {
      // Few distinct hashes in some rounds (updates), 2^30 in others (growth), with hash 0 among them.
      const hash = round % 2 === 0 ? random(3000) : random(2 ** 30);
      const until = random(1000);
      filter.remember(hash, until);
      model.set(hash, Math.max(model.get(hash) ?? -1, until));
    }
    const at = random(1000);
    filter.prune(at);
    for (const [hash, until] of model) if (until < at) model.delete(hash);
    assert.equal(filter.size, model.size);
    for (const [hash, until] of model) assert.equal(filter.get(hash), until);
    for (let i = 0; i < 1000; i++) {
      const absent = random(2 ** 30);
      if (!model.has(absent)) assert.equal(filter.get(absent), -1);
    }
  }
  assert.equal(createRecentFilter().get(0), -1);
});
