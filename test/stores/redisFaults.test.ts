// Redis misbehaving mid-command, through a TCP proxy in front of the real test Redis:
// a slow Redis (docs/security-cases.md §K 145) and a reply lost with its connection (§E 82).
// Either way the caller gets StoreUnavailableError fast, and a value is never handed out twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisNotifier, createRedisStore } from '../../src/stores/redis.ts';
import { StoreUnavailableError, type EphemeralStore } from '../../src/stores/types.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.ts';

describe('Redis faults mid-command', () => {
  let proxy: TcpProxy;
  let direct: EphemeralStore;
  let viaProxy: EphemeralStore;

  before(async () => {
    await requireRedis();
    proxy = await startTcpProxy(testRedisUrl(), 6379);
    const keyPrefix = uniqueKeyPrefix('faults');
    direct = createRedisStore(testRedisUrl(), { keyPrefix });
    viaProxy = createRedisStore(proxy.url, { keyPrefix, commandTimeoutMs: 300 });
    await viaProxy.ping();
  });
  after(async () => {
    await Promise.all([direct.close(), viaProxy.close()]);
    await proxy.close();
  });

  it('a slow Redis: take fails within the budget, and the late GETDEL burns the value', async () => {
    await direct.put('slow', { v: 1 }, 60);
    proxy.fault = { kind: 'delay', ms: 800 };
    const started = performance.now();
    await assert.rejects(viaProxy.take('slow'), StoreUnavailableError);
    assert.ok(performance.now() - started < 700, 'did not fail within the command budget');
    proxy.fault = { kind: 'none' };
    await sleep(900);
    // The command did reach Redis late: the value is gone for everyone (fail closed).
    assert.equal(await direct.take('slow'), undefined);
    assert.equal(await viaProxy.take('slow'), undefined);
  });

  it('a reply lost with its connection: take fails rather than answering after a reconnect, and the value is gone', async () => {
    await direct.put('lost', { v: 2 }, 60);
    proxy.fault = { kind: 'drop-reply' };
    await assert.rejects(viaProxy.take('lost'), StoreUnavailableError);
    proxy.fault = { kind: 'none' };
    // The store reconnects by itself; nothing hands the value out afterwards.
    let after: unknown = 'not yet';
    for (let attempt = 0; attempt < 20 && after === 'not yet'; attempt++) {
      after = await viaProxy.take('lost').catch(async () => {
        await sleep(100);
        return 'not yet';
      });
    }
    assert.equal(after, undefined);
    assert.equal(await direct.get('lost'), undefined);
  });

  it('a subscription survives a dropped connection: the notifier resubscribes by itself', async () => {
    const keyPrefix = uniqueKeyPrefix('resubscribe');
    const listener = createRedisNotifier(proxy.url, { keyPrefix, commandTimeoutMs: 300 });
    const publisher = createRedisNotifier(testRedisUrl(), { keyPrefix });
    try {
      const received: unknown[] = [];
      await listener.subscribe('revoked', (message) => void received.push(message));
      proxy.cut();
      // Publish until the listener is back; messages sent while it was away are lost (by design).
      for (let attempt = 0; attempt < 30 && received.length === 0; attempt++) {
        await publisher.publish('revoked', { attempt });
        await sleep(100);
      }
      assert.ok(received.length > 0, 'no message after the reconnect');
    } finally {
      await Promise.all([listener.close(), publisher.close()]);
    }
  });
});
