// Private Redis servers for the topology and fault tests, started from Debian's redis-server on
// free loopback ports (or a socket) in a scratch folder, never the shared test Redis: a plain
// server, a three-node Cluster, and a Sentinel group (master, replica, one sentinel). Every wait
// is bounded; `stop()` ends only the processes started here.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:port, or unix:///…/redis.sock for a socket server. */
  url: string;
  /** Starts it again after stop() (same port, same folder: what a restart does). */
  start(): Promise<void>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
  /** stop(), and its folder removed. */
  remove(): Promise<void>;
}

export interface RedisGroup {
  url: string;
  servers: RedisServer[];
  /** Removes every server of the group. */
  stop(): Promise<void>;
}

/** `redis-cli -p port args…`, retried until `accept` likes the answer (10 s at most). */
export async function redisCli(port: number, args: string[], accept: (output: string) => boolean = () => true): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    last = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]).then((r) => r.stdout, (e: Error) => e.message);
    if (accept(last)) return last;
    await sleep(100);
  }
  throw new Error(`redis on port ${port} did not answer ${args.join(' ')} as expected: ${last}`);
}

function spawnRedis(args: string[], dir: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  child.on('error', (error) => {
    throw new Error(`cannot run redis-server (${error.message}); npm test installs it (scripts/prepareMachine.ts)`);
  });
  return child;
}

/** One redis-server; `extra` are more command-line options (cluster, replicaof). */
export async function startRedis(options: { extra?: string[]; socket?: boolean; sentinelConfig?: (port: number) => string } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-redis-'));
  const port = await freePort();
  const socket = join(dir, 'redis.sock');
  let child: ChildProcess | undefined;
  const args = (): string[] => {
    if (options.sentinelConfig !== undefined) {
      // Sentinel rewrites its configuration file: a writable file of our own.
      const config = join(dir, 'sentinel.conf');
      writeFileSync(config, options.sentinelConfig(port));
      return [config, '--sentinel'];
    }
    return [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      ...(options.socket === true ? ['--unixsocket', socket, '--unixsocketperm', '700'] : []),
      ...(options.extra ?? []),
    ];
  };
  const server: RedisServer = {
    port,
    url: options.socket === true ? `unix://${socket}` : `redis://127.0.0.1:${port}`,
    async start() {
      child = spawnRedis(args(), dir);
      await redisCli(port, ['ping'], (out) => out.includes('PONG'));
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
    async remove() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

const removeAll = async (servers: RedisServer[]) => void (await Promise.all(servers.map((server) => server.remove())));

/** Three masters sharing the 16384 slots, each announcing 127.0.0.1. */
export async function startRedisCluster(): Promise<RedisGroup> {
  const servers: RedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    servers.push(await startRedis({ extra: ['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1', '--cluster-node-timeout', '2000'] }));
  }
  const ranges = [[0, 5460], [5461, 10922], [10923, 16383]] as const;
  await Promise.all(servers.map((server, i) => redisCli(server.port, ['cluster', 'addslotsrange', String(ranges[i]![0]), String(ranges[i]![1])], (out) => out.includes('OK'))));
  for (const server of servers.slice(1)) await redisCli(server.port, ['cluster', 'meet', '127.0.0.1', String(servers[0]!.port)], (out) => out.includes('OK'));
  for (const server of servers) await redisCli(server.port, ['cluster', 'info'], (out) => out.includes('cluster_state:ok') && out.includes('cluster_known_nodes:3'));
  return { url: `redis-cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`, servers, stop: () => removeAll(servers) };
}

export interface SentinelGroup extends RedisGroup {
  master: RedisServer;
  replica: RedisServer;
  sentinel: RedisServer;
  /** SENTINEL FAILOVER, and waits until the sentinel names the replica as master. */
  failover(): Promise<void>;
  /** Stops the master (as a crash would) and waits until the sentinel has promoted the replica. */
  loseMaster(): Promise<void>;
}

/** One master, one replica and one sentinel (quorum 1) watching them as "yagona". */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const master = await startRedis();
  const replica = await startRedis({ extra: ['--replicaof', '127.0.0.1', String(master.port)] });
  await redisCli(replica.port, ['info', 'replication'], (out) => out.includes('master_link_status:up'));
  const sentinel = await startRedis({
    sentinelConfig: (port) => [
      `port ${port}`, 'bind 127.0.0.1', `sentinel monitor yagona 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds yagona 1000', 'sentinel failover-timeout yagona 5000', '',
    ].join('\n'),
  });
  await redisCli(sentinel.port, ['sentinel', 'replicas', 'yagona'], (out) => out.includes(String(replica.port)));
  const servers = [master, replica, sentinel];
  return {
    url: `redis-sentinel://127.0.0.1:${sentinel.port}/yagona`,
    servers, master, replica, sentinel,
    async failover() {
      await redisCli(sentinel.port, ['sentinel', 'failover', 'yagona'], (out) => out.includes('OK'));
      await redisCli(sentinel.port, ['sentinel', 'get-master-addr-by-name', 'yagona'], (out) => out.includes(String(replica.port)));
      await redisCli(replica.port, ['role'], (out) => out.startsWith('master'));
    },
    async loseMaster() {
      await master.stop();
      await redisCli(sentinel.port, ['sentinel', 'get-master-addr-by-name', 'yagona'], (out) => out.includes(String(replica.port)));
      await redisCli(replica.port, ['role'], (out) => out.startsWith('master'));
    },
    stop: () => removeAll(servers),
  };
}
