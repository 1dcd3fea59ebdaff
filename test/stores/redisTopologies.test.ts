// Every REDIS_URL form the store connects to, each against real servers started here
// (test/helpers/redisServers.ts): a socket, a three-node Cluster, a Sentinel group.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedisNotifier, createRedisStore } from '../../src/stores/redis.ts';
import { uniqueKeyPrefix } from '../helpers/services.ts';
import { startRedis, startRedisCluster, startSentinelGroup } from '../helpers/redisServers.ts';

async function roundTrip(url: string): Promise<void> {
  const keyPrefix = uniqueKeyPrefix('topology');
  const store = createRedisStore(url, { keyPrefix, commandTimeoutMs: 2000 });
  const notifier = createRedisNotifier(url, { keyPrefix, commandTimeoutMs: 2000 });
  try {
    await store.put('challenge', { n: 1 }, 30);
    const takers = await Promise.all(Array.from({ length: 20 }, () => store.take('challenge')));
    assert.deepEqual(takers.filter((v) => v !== undefined), [{ n: 1 }]);
    await store.addToSet('sessions', 'a', 30);
    await store.addToSet('sessions', 'b', 30);
    assert.deepEqual((await store.takeSet('sessions')).sort(), ['a', 'b']);
    let deliver: (message: unknown) => void = () => {};
    const received = new Promise((resolve) => { deliver = resolve; });
    await notifier.subscribe('revoked', (message) => deliver(message));
    await notifier.publish('revoked', { serialHex: '01' });
    assert.deepEqual(await received, { serialHex: '01' });
  } finally {
    await Promise.all([store.close(), notifier.close()]);
  }
}

describe('Redis topologies through REDIS_URL', () => {
  it('a unix socket, as unix:///path and as a bare path', async () => {
    const server = await startRedis({ socket: true });
    try {
      await roundTrip(server.url);
      await roundTrip(server.url.replace(/^unix:\/\//, ''));
    } finally {
      await server.remove();
    }
  });

  it('redis-cluster://host:port,… over three masters: keys spread over the nodes', async () => {
    const cluster = await startRedisCluster();
    try {
      await roundTrip(cluster.url);
      // One seed is enough: the client learns the other nodes from it.
      await roundTrip(`redis-cluster://127.0.0.1:${cluster.servers[1]!.port}`);
    } finally {
      await cluster.stop();
    }
  });

  it('redis-sentinel://host:port/master finds the master, and the new one after a failover', async () => {
    const group = await startSentinelGroup();
    try {
      await roundTrip(group.url);
      await group.failover();
      await roundTrip(group.url);
    } finally {
      await group.stop();
    }
  });

  it('a redis-sentinel:// URL without a master name is refused', () => {
    assert.throws(() => createRedisStore('redis-sentinel://127.0.0.1:26379'), TypeError);
  });
});
