// In-process twins of the Redis store and notifier, for the embedded single-instance
// `npm start` only: nothing here is shared between processes, so running two instances on
// it would break single use. Values round-trip through JSON so code that passes here
// behaves the same against Redis (Dates come back as strings, undefined fields vanish).
import { StoreUnavailableError, type EphemeralStore, type Notifier } from './types.ts';
import { toJson, ttlMs, warnHandlerError } from './values.ts';

type Entry =
  | { kind: 'value'; json: string; expiresAt: number }
  | { kind: 'set'; members: Set<string>; expiresAt: number };

export interface MemoryStoreOptions {
  /** Most keys held at once; past it writes fail like Redis under `maxmemory noeviction`. */
  maxEntries?: number;
  /** How often expired entries are swept (reads also drop them lazily). */
  sweepIntervalMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): EphemeralStore {
  const { maxEntries = 100_000, sweepIntervalMs = 30_000 } = options;
  const entries = new Map<string, Entry>();
  let closed = false;

  const sweep = () => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
  };
  // unref: the sweep must never keep a finished process (or test run) alive.
  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();

  const live = (key: string): Entry | undefined => {
    if (closed) throw new TypeError('memory store used after close()');
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > Date.now()) return entry;
    entries.delete(key);
    return undefined;
  };

  const reserve = (key: string) => {
    if (entries.has(key) || entries.size < maxEntries) return;
    sweep();
    if (entries.size >= maxEntries) throw new StoreUnavailableError('memory', { cause: new Error(`memory store full (${maxEntries} keys)`) });
  };

  const valueOf = <T>(entry: Entry | undefined): T | undefined => {
    if (entry === undefined) return undefined;
    if (entry.kind !== 'value') throw new TypeError('key holds a set, not a value');
    return JSON.parse(entry.json) as T;
  };

  // Every method body is synchronous up to its return, so on Node's single thread each
  // operation (take, takeSet) is atomic without locks.
  return {
    async put(key, value, ttlSeconds) {
      const json = toJson(value);
      const expiresAt = Date.now() + ttlMs(ttlSeconds);
      live(key);
      reserve(key);
      entries.set(key, { kind: 'value', json, expiresAt });
    },

    async get<T>(key: string) {
      return valueOf<T>(live(key));
    },

    async putIfAbsent(key, value, ttlSeconds) {
      const json = toJson(value);
      const expiresAt = Date.now() + ttlMs(ttlSeconds);
      if (live(key) !== undefined) return false;
      reserve(key);
      entries.set(key, { kind: 'value', json, expiresAt });
      return true;
    },

    async take<T>(key: string) {
      const value = valueOf<T>(live(key));
      entries.delete(key);
      return value;
    },

    async delete(key) {
      live(key);
      entries.delete(key);
    },

    async addToSet(key, member, ttlSeconds) {
      const expiresAt = Date.now() + ttlMs(ttlSeconds);
      const entry = live(key);
      if (entry === undefined) {
        reserve(key);
        entries.set(key, { kind: 'set', members: new Set([member]), expiresAt });
        return;
      }
      if (entry.kind !== 'set') throw new TypeError('key holds a value, not a set');
      entry.members.add(member);
      entry.expiresAt = Math.max(entry.expiresAt, expiresAt);
    },

    async takeSet(key) {
      const entry = live(key);
      if (entry === undefined) return [];
      if (entry.kind !== 'set') throw new TypeError('key holds a value, not a set');
      entries.delete(key);
      return [...entry.members];
    },

    async ping() {
      if (closed) throw new StoreUnavailableError('memory', { cause: new Error('memory store closed') });
    },

    async close() {
      closed = true;
      clearInterval(timer);
      entries.clear();
    },
  };
}

/** In-process notifier: delivers to this process's subscribers only, asynchronously like Redis. */
export function createLocalNotifier(options: { onError?: (error: unknown) => void } = {}): Notifier {
  const { onError = warnHandlerError } = options;
  const handlers = new Map<string, Set<(message: unknown) => void | Promise<void>>>();

  return {
    async publish(channel, message) {
      const json = toJson(message);
      for (const handler of handlers.get(channel) ?? []) {
        setImmediate(() => {
          // A failing handler must not stop delivery to the others nor crash the process.
          Promise.resolve()
            .then(() => handler(JSON.parse(json)))
            .catch(onError);
        });
      }
    },

    async subscribe<T>(channel: string, handler: (message: T) => void | Promise<void>) {
      const wrapped = (message: unknown) => handler(message as T);
      const set = handlers.get(channel) ?? new Set();
      set.add(wrapped);
      handlers.set(channel, set);
      return async () => {
        set.delete(wrapped);
        if (set.size === 0 && handlers.get(channel) === set) handlers.delete(channel);
      };
    },

    async close() {
      handlers.clear();
    },
  };
}
