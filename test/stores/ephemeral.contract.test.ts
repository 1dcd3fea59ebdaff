// One contract for the short-lived store and the notifier, run against real Redis and the
// in-process twin: whatever passes here behaves the same in development and production.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalNotifier, createMemoryStore } from '../../src/stores/memory.ts';
import { createRedisNotifier, createRedisStore } from '../../src/stores/redis.ts';
import { StoreUnavailableError, type EphemeralStore, type Notifier } from '../../src/stores/types.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';

const redisUrl = testRedisUrl();

interface Kind {
  name: string;
  /** `instances` stores sharing one keyspace, as several service instances would. */
  stores(instances: number): EphemeralStore[];
  notifiers(instances: number, onHandlerError?: (error: unknown) => void): Notifier[];
}

const kinds: Kind[] = [
  {
    name: 'redis',
    stores(instances) {
      const keyPrefix = uniqueKeyPrefix('ephemeral');
      return Array.from({ length: instances }, () => createRedisStore(redisUrl, { keyPrefix }));
    },
    notifiers(instances, onHandlerError) {
      const keyPrefix = uniqueKeyPrefix('notify');
      return Array.from({ length: instances }, () =>
        createRedisNotifier(redisUrl, { keyPrefix, ...(onHandlerError === undefined ? {} : { onHandlerError }) }));
    },
  },
  {
    name: 'memory',
    stores(instances) {
      // In-process means one process: every "instance" is the same store.
      const store = createMemoryStore();
      return Array.from({ length: instances }, () => store);
    },
    notifiers(instances, onHandlerError) {
      const notifier = createLocalNotifier(onHandlerError === undefined ? {} : { onError: onHandlerError });
      return Array.from({ length: instances }, () => notifier);
    },
  },
];

before(() => requireRedis(redisUrl));

/** Resolves with the next `count` messages a subscription receives (or rejects after 2 s). */
function collect<T>(count: number): { handler: (message: T) => void; done: Promise<T[]> } {
  const received: T[] = [];
  let resolve: (messages: T[]) => void = () => {};
  const done = new Promise<T[]>((r, reject) => {
    resolve = r;
    setTimeout(() => reject(new Error(`received ${received.length} of ${count} messages`)), 2000).unref();
  });
  return {
    handler: (message) => {
      received.push(message);
      if (received.length === count) resolve(received);
    },
    done,
  };
}

for (const kind of kinds) {
  describe(`EphemeralStore contract: ${kind.name}`, () => {
    let opened: EphemeralStore[] = [];
    let store: EphemeralStore;
    const open = (instances: number) => {
      const stores = kind.stores(instances);
      opened.push(...stores);
      return stores;
    };

    beforeEach(() => {
      [store] = open(1) as [EphemeralStore];
    });
    afterEach(async () => {
      await Promise.all([...new Set(opened)].map((s) => s.close()));
      opened = [];
    });

    it('a rate limiter allows its points per window at once, then refuses with the time left; instances share it', async () => {
      const [one, two] = open(2) as [EphemeralStore, EphemeralStore];
      const a = one.rateLimiter('contract', { points: 2, durationSeconds: 60 });
      const b = two.rateLimiter('contract', { points: 2, durationSeconds: 60 });
      assert.deepEqual(await a.peek('client'), { allowed: true });
      assert.deepEqual(await a.hit('client'), { allowed: true });
      assert.deepEqual(await b.hit('client'), { allowed: true });
      const refused = await a.hit('client');
      assert.equal(refused.allowed, false);
      assert.ok(!refused.allowed && refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60);
      assert.equal((await b.peek('client')).allowed, false);
      assert.deepEqual(await b.hit('someone else'), { allowed: true }, 'keys are counted apart');
      assert.deepEqual(await one.rateLimiter('other', { points: 1, durationSeconds: 60 }).hit('client'), { allowed: true }, 'names are counted apart');
    });

    it('get and take of an unknown key give undefined', async () => {
      assert.equal(await store.get('nothing'), undefined);
      assert.equal(await store.take('nothing'), undefined);
      await store.delete('nothing');
    });

    it('put then get returns the value and leaves it in place', async () => {
      await store.put('k', { a: 1 }, 60);
      assert.deepEqual(await store.get('k'), { a: 1 });
      assert.deepEqual(await store.get('k'), { a: 1 });
    });

    it('round-trips values through JSON, like Redis', async () => {
      const at = new Date('2026-01-02T03:04:05.678Z');
      await store.put('k', { at, missing: undefined, list: [1, 'two', null, { nested: true }], text: 'Ўзбекистон ✓', n: 0.1 }, 60);
      assert.deepEqual(await store.get('k'), { at: at.toISOString(), list: [1, 'two', null, { nested: true }], text: 'Ўзбекистон ✓', n: 0.1 });
      for (const scalar of ['text', 42, true, null]) {
        await store.put('scalar', scalar, 60);
        assert.equal(await store.get('scalar'), scalar);
      }
    });

    it('a stored value is a copy: mutating the original or a read does not change it', async () => {
      const value = { list: [1] };
      await store.put('k', value, 60);
      value.list.push(2);
      const read = await store.get<{ list: number[] }>('k');
      read?.list.push(3);
      assert.deepEqual(await store.get('k'), { list: [1] });
    });

    it('refuses values JSON cannot carry and TTLs that are not positive', async () => {
      await assert.rejects(store.put('k', undefined, 60), TypeError);
      await assert.rejects(store.put('k', () => 1, 60), TypeError);
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(store.put('k', 1, ttl), TypeError, `ttl ${ttl}`);
        await assert.rejects(store.addToSet('s', 'm', ttl), TypeError, `set ttl ${ttl}`);
      }
      assert.equal(await store.get('k'), undefined);
    });

    it('put replaces the value and its TTL', async () => {
      await store.put('k', 'first', 0.2);
      await store.put('k', 'second', 60);
      await sleep(300);
      assert.equal(await store.get('k'), 'second');
    });

    it('take returns the value once and removes it', async () => {
      await store.put('k', { v: 1 }, 60);
      assert.deepEqual(await store.take('k'), { v: 1 });
      assert.equal(await store.take('k'), undefined);
      assert.equal(await store.get('k'), undefined);
    });

    it('delete removes the value', async () => {
      await store.put('k', 1, 60);
      await store.delete('k');
      assert.equal(await store.get('k'), undefined);
    });

    it('values expire after their TTL, for get and take alike', async () => {
      await store.put('a', 1, 0.2);
      await store.put('b', 2, 0.2);
      await store.put('long', 3, 60);
      assert.equal(await store.get('a'), 1);
      await sleep(300);
      assert.equal(await store.get('a'), undefined);
      assert.equal(await store.take('b'), undefined);
      assert.equal(await store.get('long'), 3);
    });

    it('take is atomic: of 50 concurrent takers across instances exactly one gets the value', async () => {
      const stores = open(5);
      for (let round = 0; round < 5; round++) {
        await stores[0]!.put(`race${round}`, { round }, 60);
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.take(`race${round}`)));
        const winners = results.filter((r) => r !== undefined);
        assert.deepEqual(winners, [{ round }], `round ${round}`);
      }
    });

    it('putIfAbsent writes once: of 50 concurrent writers across instances exactly one wins, until the TTL ends', async () => {
      const stores = open(5);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.putIfAbsent('once', { i }, 0.3)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      const [one, other] = stores as [EphemeralStore, EphemeralStore];
      assert.deepEqual(await other.get('once'), { i: winner });
      assert.equal(await one.putIfAbsent('once', 'later', 60), false);
      await sleep(400);
      assert.equal(await other.putIfAbsent('once', 'after expiry', 60), true);
      assert.equal(await one.get('once'), 'after expiry');
      await assert.rejects(store.putIfAbsent('k', undefined, 60), TypeError);
      await assert.rejects(store.putIfAbsent('k', 1, 0), TypeError);
    });

    it('sets: addToSet collects distinct members and takeSet empties the set', async () => {
      await store.addToSet('s', 'a', 60);
      await store.addToSet('s', 'b', 60);
      await store.addToSet('s', 'a', 60);
      assert.deepEqual((await store.takeSet('s')).sort(), ['a', 'b']);
      assert.deepEqual(await store.takeSet('s'), []);
      assert.deepEqual(await store.takeSet('never'), []);
    });

    it('sets expire with their TTL', async () => {
      await store.addToSet('s', 'a', 0.2);
      await sleep(300);
      assert.deepEqual(await store.takeSet('s'), []);
    });

    it('a set TTL is extended by a longer one, never shortened by a shorter one', async () => {
      await store.addToSet('grow', 'a', 0.2);
      await store.addToSet('grow', 'b', 60);
      await store.addToSet('keep', 'a', 60);
      await store.addToSet('keep', 'b', 0.2);
      await sleep(300);
      assert.deepEqual((await store.takeSet('grow')).sort(), ['a', 'b']);
      assert.deepEqual((await store.takeSet('keep')).sort(), ['a', 'b']);
    });

    it('takeSet is atomic: concurrent takers share out the members, each exactly once', async () => {
      const stores = open(5);
      const members = Array.from({ length: 20 }, (_, i) => `m${i}`);
      for (const m of members) await stores[0]!.addToSet('s', m, 60);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % stores.length]!.takeSet('s')));
      assert.deepEqual(results.flat().sort(), [...members].sort());
      assert.equal(results.filter((r) => r.length > 0).length, 1);
    });

    it('ping resolves while the store answers', async () => {
      await store.ping();
    });
  });

  describe(`Notifier contract: ${kind.name}`, () => {
    let opened: Notifier[] = [];
    const open = (instances: number, onHandlerError?: (error: unknown) => void) => {
      const notifiers = kind.notifiers(instances, onHandlerError);
      opened.push(...notifiers);
      return notifiers;
    };
    afterEach(async () => {
      await Promise.all([...new Set(opened)].map((n) => n.close()));
      opened = [];
    });

    it('delivers a published message, JSON round-tripped, to every subscribed instance', async () => {
      const [a, b, publisher] = open(3) as [Notifier, Notifier, Notifier];
      const atA = collect<unknown>(1);
      const atB = collect<unknown>(1);
      await a.subscribe('revoked', atA.handler);
      await b.subscribe('revoked', atB.handler);
      await publisher.publish('revoked', { serialHex: '0A', at: new Date('2026-01-01T00:00:00Z'), gone: undefined });
      const expected = { serialHex: '0A', at: '2026-01-01T00:00:00.000Z' };
      assert.deepEqual(await atA.done, [expected]);
      assert.deepEqual(await atB.done, [expected]);
    });

    it('keeps channels apart and stops delivering after unsubscribe', async () => {
      const [listener, publisher] = open(2) as [Notifier, Notifier];
      const received: unknown[] = [];
      const unsubscribe = await listener.subscribe('one', (m) => void received.push(m));
      const other = collect<unknown>(2);
      await listener.subscribe('two', other.handler);
      await publisher.publish('two', 1);
      await publisher.publish('one', 'for one');
      await publisher.publish('two', 2);
      assert.deepEqual(await other.done, [1, 2]);
      assert.deepEqual(received, ['for one']);
      await unsubscribe();
      const after = collect<unknown>(1);
      await listener.subscribe('two', after.handler);
      await publisher.publish('one', 'too late');
      await publisher.publish('two', 3);
      assert.deepEqual(await after.done, [3]);
      assert.deepEqual(received, ['for one']);
    });

    it('a failing handler is reported and does not stop the others', async () => {
      const errors: unknown[] = [];
      const [listener, publisher] = open(2, (error) => errors.push(error)) as [Notifier, Notifier];
      const good = collect<unknown>(1);
      await listener.subscribe('c', () => {
        throw new Error('handler broke');
      });
      await listener.subscribe('c', good.handler);
      await publisher.publish('c', 'x');
      assert.deepEqual(await good.done, ['x']);
      await sleep(20);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /handler broke/);
    });

    it('refuses messages JSON cannot carry', async () => {
      const [notifier] = open(1) as [Notifier];
      await assert.rejects(notifier.publish('c', undefined), TypeError);
    });
  });
}

describe('Redis down: fail fast with StoreUnavailableError (docs/security-cases.md §K 142)', () => {
  let closedPortUrl: string;
  const opened: Array<EphemeralStore | Notifier> = [];

  before(async () => {
    // A port that was just free and is now closed: connections are refused.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    closedPortUrl = `redis://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });

  it('every store operation rejects with code unavailable within the command budget', async () => {
    const store = createRedisStore(closedPortUrl, { keyPrefix: uniqueKeyPrefix('down'), commandTimeoutMs: 300 });
    opened.push(store);
    const operations: Array<[string, () => Promise<unknown>]> = [
      ['put', () => store.put('k', 1, 60)],
      ['get', () => store.get('k')],
      ['take', () => store.take('k')],
      ['delete', () => store.delete('k')],
      ['addToSet', () => store.addToSet('s', 'm', 60)],
      ['takeSet', () => store.takeSet('s')],
      ['ping', () => store.ping()],
    ];
    for (const [name, operation] of operations) {
      const started = performance.now();
      await assert.rejects(operation(), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError, `${name}: ${String(error)}`);
        assert.equal(error.code, 'unavailable');
        assert.equal(error.status, 503);
        assert.equal(error.store, 'redis');
        return true;
      });
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs < 1000, `${name} took ${elapsedMs.toFixed(0)} ms`);
    }
  });

  it('publish and subscribe reject with StoreUnavailableError', async () => {
    const notifier = createRedisNotifier(closedPortUrl, { commandTimeoutMs: 300 });
    opened.push(notifier);
    await assert.rejects(notifier.publish('c', 1), StoreUnavailableError);
    await assert.rejects(notifier.subscribe('c', () => {}), StoreUnavailableError);
  });

  it('the detail on the wire names no host, the cause keeps it for the logs', async () => {
    const store = createRedisStore(closedPortUrl, { commandTimeoutMs: 300 });
    opened.push(store);
    const error = await store.get('k').catch((e: unknown) => e);
    assert.ok(error instanceof StoreUnavailableError);
    assert.doesNotMatch(error.message, /127\.0\.0\.1|ECONNREFUSED/);
    assert.ok(error.cause instanceof Error);
  });
});

describe('memory store: bounded size', () => {
  it('at the bound the oldest evictable entries make room, and readiness says the store is full', async () => {
    const store = createMemoryStore({ maxEntries: 3 });
    try {
      await store.put('session', 's', 60);
      await store.put('challenge-1', 1, 60, { evictable: true });
      await store.putIfAbsent('interaction-2', 2, 60, { evictable: true });
      await store.ping().then(() => assert.fail('a full store is not ready'), (error: unknown) => assert.ok(error instanceof StoreUnavailableError));
      await store.put('challenge-3', 3, 60, { evictable: true });
      assert.equal(await store.get('challenge-1'), undefined, 'the oldest evictable entry went first');
      assert.equal(await store.get('interaction-2'), 2);
      await store.put('session-2', 's', 60);
      await store.addToSet('index', 'm', 60);
      assert.equal(await store.get('interaction-2'), undefined);
      assert.equal(await store.get('challenge-3'), undefined);
      assert.equal(await store.get('session'), 's', 'other entries are never evicted');
      await assert.rejects(store.put('session-3', 's', 60), StoreUnavailableError, 'with nothing evictable left, writes fail');
      await store.delete('session-2');
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('refuses new keys when full, like Redis under maxmemory noeviction, until entries expire', async () => {
    const store = createMemoryStore({ maxEntries: 3 });
    try {
      await store.put('a', 1, 0.2);
      await store.put('b', 2, 60);
      await store.addToSet('c', 'm', 60);
      await assert.rejects(store.put('d', 4, 60), StoreUnavailableError);
      await assert.rejects(store.addToSet('e', 'm', 60), StoreUnavailableError);
      await store.put('b', 'replaced', 60);
      await store.addToSet('c', 'n', 60);
      await sleep(300);
      await store.put('d', 4, 60);
      assert.equal(await store.get('d'), 4);
    } finally {
      await store.close();
    }
  });
});
