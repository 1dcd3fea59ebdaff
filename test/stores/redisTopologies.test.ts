// REDIS_URL for Sentinel and Cluster: a real Sentinel watching the test Redis, and a real
// one-node cluster, each started here with the local redis-server binary and stopped after.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createRedisNotifier, createRedisStore } from '../../src/stores/redis.ts';
import { requireRedis, testRedisUrl, uniqueKeyPrefix } from '../helpers/services.ts';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** redis-cli against a local port, retried until `accept` likes the answer (5 s at most). */
async function waitFor(port: number, args: string[], accept: (output: string) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const output = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]).then((r) => r.stdout, () => '');
    if (accept(output)) return;
    await sleep(100);
  }
  throw new Error(`redis on port ${port} did not answer ${args.join(' ')} in time`);
}

function startRedisServer(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  child.on('error', (error) => {
    throw new Error(`cannot run redis-server (${error.message}); install it: apt-get install redis-server`);
  });
  return child;
}

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
  const children: ChildProcess[] = [];
  let dir: string;

  before(async () => {
    await requireRedis();
    dir = await mkdtemp(join(tmpdir(), 'yagona-redis-'));
  });
  after(async () => {
    for (const child of children) child.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('redis-sentinel://host:port/master finds the master through Sentinel', async () => {
    const master = new URL(testRedisUrl());
    const port = await freePort();
    const config = join(dir, 'sentinel.conf');
    // Sentinel rewrites its configuration file, so it must be a writable file of our own.
    await writeFile(config, [
      `port ${port}`,
      'bind 127.0.0.1',
      `sentinel monitor yagona ${master.hostname} ${master.port || 6379} 1`,
      ...(master.password === '' ? [] : [`sentinel auth-pass yagona ${decodeURIComponent(master.password)}`]),
      '',
    ].join('\n'));
    children.push(startRedisServer([config, '--sentinel']));
    await waitFor(port, ['sentinel', 'get-master-addr-by-name', 'yagona'], (out) => out.includes(master.hostname));

    const auth = master.password === '' ? '' : `:${master.password}@`;
    await roundTrip(`redis-sentinel://${auth}127.0.0.1:${port}/yagona`);
  });

  it('a redis-sentinel:// URL without a master name is refused', () => {
    assert.throws(() => createRedisStore('redis-sentinel://127.0.0.1:26379'), TypeError);
  });

  it('redis-cluster://host:port discovers the cluster from a seed node', async () => {
    const port = await freePort();
    children.push(startRedisServer([
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      // A lone node knows no address of its own until told; clients need one in CLUSTER SLOTS.
      '--cluster-announce-ip', '127.0.0.1', '--cluster-config-file', join(dir, 'nodes.conf'),
      '--dir', dir, '--save', '', '--appendonly', 'no',
    ]));
    await waitFor(port, ['ping'], (out) => out.includes('PONG'));
    await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'addslotsrange', '0', '16383']);
    await waitFor(port, ['cluster', 'info'], (out) => out.includes('cluster_state:ok'));

    await roundTrip(`redis-cluster://127.0.0.1:${port}`);
  });
});
