// The Redis side of the stores: the shared EphemeralStore and the cross-instance Notifier.
// The only module that imports ioredis.
//
// Fail fast, fail closed (docs/security-cases.md §K 142–145): no offline queue, a short command
// timeout and no automatic resend of a command whose reply was lost, so a caller learns
// within about `commandTimeoutMs` that Redis is gone and answers 503 — it never waits
// for a reconnect, never falls back to memory, and a GETDEL is never sent twice (§E 82).
import { Cluster, Redis, ReplyError, type RedisOptions } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { rateLimiterOver } from './rateLimits.ts';
import { StoreUnavailableError, type EphemeralStore, type Notifier } from './types.ts';
import { toJson, ttlMs, warnHandlerError } from './values.ts';

export interface RedisStoreOptions {
  /** Prepended to every key and channel, so services (and tests) can share one Redis. */
  keyPrefix?: string;
  /** Budget for one command, and for waiting on a (re)connection before it. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Connection errors, for logging; the failing calls report them too. */
  onError?: (error: unknown) => void;
}

export interface RedisNotifierOptions extends RedisStoreOptions {
  /** Called when a handler throws; the default prints a process warning. */
  onHandlerError?: (error: unknown) => void;
}

const defaultKeyPrefix = 'yagona:';
const defaultCommandTimeoutMs = 500;
const defaultConnectTimeoutMs = 1000;

// Errors Redis answers while it cannot serve (loading, failover, out of memory); any other
// reply error (WRONGTYPE, unknown command) is a programming mistake and stays as it is.
const unavailableReply = /^(LOADING|READONLY|MASTERDOWN|BUSY|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS)\b/;

// SADD then extend the TTL, never shorten it: a session added later than the others must
// keep the index alive for its own lifetime. PTTL is -1 only for a key without TTL.
const addToSetScript = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`;

type Client = Redis | Cluster;
/** The script registered with defineCommand: sent once, then run by its SHA (EVALSHA). */
type WithAddToSet = { addToSetWithTtl(key: string, member: string, ttlMs: number): Promise<unknown> };

interface Connection {
  client: Client;
  /** Runs `command` once the connection is ready, mapping outages to StoreUnavailableError. */
  run<T>(command: (client: Client) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * redis://, rediss:// and socket paths go to ioredis as they are, query parameters included.
 * ioredis reads neither Sentinel nor Cluster from a URL, so two schemes list the seed nodes:
 *   redis-sentinel://[user:password@]host:port[,host:port…]/masterName
 *   redis-cluster://[user:password@]host:port[,host:port…]
 * Their query parameters become ioredis options too (`?sentinelPassword=…`, `?db=1`), but
 * never override the fail-fast settings. IPv6 seed addresses are not supported there.
 */
function createClient(url: string, failFast: RedisOptions): Client {
  const match = /^redis-(sentinel|cluster):\/\/(?:([^@/]*)@)?([^/?]+)\/?([^?]*)(?:\?(.*))?$/.exec(url);
  // Commands issued in one turn of the event loop leave in one write (issue 12): a busy
  // instance's sign-ins share socket writes instead of paying a syscall per command. Not on a
  // Cluster: there ioredis holds a pipelined command until it knows the slots, with no timeout
  // (a test hung on it), which fail-fast cannot allow.
  const pipelined = { ...failFast, enableAutoPipelining: true };
  if (match === null) return new Redis(url, pipelined);
  const [, mode, auth = '', hosts = '', path = '', query = ''] = match;
  const nodes = hosts.split(',').map((node) => {
    const [host = '', port] = node.split(':');
    return { host, port: port === undefined ? (mode === 'sentinel' ? 26379 : 6379) : Number(port) };
  });
  const [username = '', password = ''] = auth.split(':').map(decodeURIComponent);
  const options: RedisOptions = {
    ...Object.fromEntries(new URLSearchParams(query)),
    ...(username === '' ? {} : { username }),
    ...(password === '' ? {} : { password }),
    ...failFast,
  };
  if (mode === 'cluster') {
    // ioredis sends its cluster ready check through the offline queue it is told not to
    // have, and then never becomes ready: skip that check (a cluster that is down answers
    // CLUSTERDOWN, which is mapped to unavailable anyway).
    return new Cluster(nodes, {
      enableOfflineQueue: false,
      enableReadyCheck: false,
      clusterRetryStrategy: failFast.retryStrategy,
      redisOptions: options,
    });
  }
  if (path === '') throw new TypeError('a redis-sentinel:// URL names the master as its path: redis-sentinel://host:26379/mymaster');
  return new Redis({ ...options, ...pipelined, sentinels: nodes, name: decodeURIComponent(path) });
}

function connect(url: string, options: RedisStoreOptions): Connection {
  const commandTimeoutMs = options.commandTimeoutMs ?? defaultCommandTimeoutMs;
  const redisOptions: RedisOptions = {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
    // A command in flight when the connection drops fails instead of being sent again
    // after the reconnect, where a second GETDEL would answer "gone" for a value taken.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // Keep reconnecting for ever, at most once a second, so the service heals by itself.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  };
  const client = createClient(url, redisOptions);
  client.defineCommand('addToSetWithTtl', { numberOfKeys: 1, lua: addToSetScript });
  // Without a listener ioredis prints every reconnect failure itself.
  client.on('error', options.onError ?? (() => {}));

  let readyWait: Promise<void> | undefined;
  const ready = async () => {
    if (client.status === 'ready') return;
    readyWait ??= new Promise<void>((resolve) => {
      client.once('ready', () => {
        readyWait = undefined;
        resolve();
      });
    });
    await withTimeout(readyWait, commandTimeoutMs, `Redis not ready within ${commandTimeoutMs} ms (${client.status})`);
  };

  return {
    client,
    async run(command) {
      try {
        await ready();
        return await command(client);
      } catch (error) {
        throw unavailable(error);
      }
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

function unavailable(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof ReplyError && !unavailableReply.test((error as Error).message)) return error;
  return new StoreUnavailableError('redis', { cause: error });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError('redis', { cause: new Error(message) })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const parse = <T>(json: string | null): T | undefined => (json === null ? undefined : (JSON.parse(json) as T));

/** The shared short-lived store at `url`: redis://, rediss://, a socket path, redis-sentinel:// or redis-cluster://. */
export function createRedisStore(url: string, options: RedisStoreOptions = {}): EphemeralStore {
  const prefix = options.keyPrefix ?? defaultKeyPrefix;
  const { client, run, close } = connect(url, options);
  const k = (key: string) => prefix + key;

  return {
    async put(key, value, ttlSeconds) {
      const json = toJson(value);
      const ms = ttlMs(ttlSeconds);
      await run((c) => c.set(k(key), json, 'PX', ms));
    },

    async get<T>(key: string) {
      return parse<T>(await run((c) => c.get(k(key))));
    },

    // SET … NX: the write and the emptiness check are one command.
    async putIfAbsent(key, value, ttlSeconds) {
      const json = toJson(value);
      const ms = ttlMs(ttlSeconds);
      return (await run((c) => c.set(k(key), json, 'PX', ms, 'NX'))) === 'OK';
    },

    // GETDEL (Redis >= 6.2) reads and removes in one command: of concurrent takers on any
    // number of instances exactly one sees the value (docs/security-cases.md §0 item 5).
    async take<T>(key: string) {
      return parse<T>(await run((c) => c.getdel(k(key))));
    },

    async delete(key) {
      await run((c) => c.del(k(key)));
    },

    async addToSet(key, member, ttlSeconds) {
      const ms = ttlMs(ttlSeconds);
      await run((c) => (c as Client & WithAddToSet).addToSetWithTtl(k(key), member, ms));
    },

    // MULTI/EXEC runs SMEMBERS and DEL with nothing in between, so a member added
    // concurrently is either returned here or survives in a new set — never lost.
    async takeSet(key) {
      const replies = await run((c) => c.multi().smembers(k(key)).del(k(key)).exec());
      const [members] = replies ?? [];
      if (members === undefined || members[0] !== null) throw unavailable(members?.[0] ?? new Error('MULTI aborted'));
      return members[1] as string[];
    },

    // Counters live in Redis, so every instance shares them and a restart keeps them. The
    // library runs its increment-and-expire script through the same fail-fast client.
    rateLimiter(name, { points, durationSeconds }) {
      const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: k(`ratelimit:${name}`), points, duration: durationSeconds });
      return rateLimiterOver(limiter, (call) => run(call));
    },

    async ping() {
      await run((c) => c.ping());
    },

    close,
  };
}

/**
 * Cross-instance notifications over Redis pub/sub. Publishing fails fast like the store;
 * the subscriber connection resubscribes by itself after a reconnect, but messages sent
 * meanwhile are lost — which is why durable state, not a message, decides.
 */
export function createRedisNotifier(url: string, options: RedisNotifierOptions = {}): Notifier {
  const prefix = options.keyPrefix ?? defaultKeyPrefix;
  const onHandlerError = options.onHandlerError ?? warnHandlerError;
  const publisher = connect(url, options);
  const subscriber = connect(url, options);
  const handlers = new Map<string, Set<(message: unknown) => void | Promise<void>>>();

  subscriber.client.on('message', (channel: string, json: string) => {
    for (const handler of handlers.get(channel) ?? []) {
      Promise.resolve()
        .then(() => handler(JSON.parse(json)))
        .catch(onHandlerError);
    }
  });

  return {
    async publish(channel, message) {
      const json = toJson(message);
      await publisher.run((c) => c.publish(prefix + channel, json));
    },

    async subscribe<T>(channel: string, handler: (message: T) => void | Promise<void>) {
      const name = prefix + channel;
      const wrapped = (message: unknown) => handler(message as T);
      // SUBSCRIBE is idempotent, so two first subscribers racing here is harmless.
      if (!handlers.has(name)) await subscriber.run((c) => c.subscribe(name));
      const set = handlers.get(name) ?? new Set();
      set.add(wrapped);
      handlers.set(name, set);
      return async () => {
        const set = handlers.get(name);
        set?.delete(wrapped);
        if (set?.size === 0) {
          handlers.delete(name);
          await subscriber.run((c) => c.unsubscribe(name));
        }
      };
    },

    async close() {
      handlers.clear();
      await Promise.all([publisher.close(), subscriber.close()]);
    },
  };
}
