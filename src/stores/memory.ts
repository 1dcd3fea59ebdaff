// In-process twins of the Redis store and notifier, for the embedded single-instance
// `npm start` only: nothing here is shared between processes, so running two instances on
// it would break single use. Values round-trip through JSON so code that passes here
// behaves the same against Redis (Dates come back as strings, undefined fields vanish).
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { rateLimiterOver } from './rateLimits.ts';
import { StoreUnavailableError, type EphemeralStore, type Notifier, type PutOptions, type RateLimiter } from './types.ts';
import { toJson, ttlMs, warnHandlerError } from './values.ts';

type Entry =
  | { kind: 'value'; json: string; expiresAt: number }
  | { kind: 'set'; members: Set<string>; expiresAt: number };

export interface MemoryStoreOptions {
  /**
   * Most keys held at once. At the bound the oldest evictable entry makes room; with none left,
   * writes fail (503) like Redis under `maxmemory noeviction`. `ping` fails while at the bound.
   */
  maxEntries?: number;
  /** How often expired entries are swept (reads also drop them lazily). */
  sweepIntervalMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): EphemeralStore {
  const { maxEntries = 100_000, sweepIntervalMs = 30_000 } = options;
  const entries = new Map<string, Entry>();
  // Insertion-ordered: the first is the oldest evictable entry.
  const evictable = new Set<string>();
  // One limiter per name, as one Redis key space would be: every caller of a name shares its counts.
  const limiters = new Map<string, RateLimiter>();
  let closed = false;
  let sweptAt = 0;

  const remove = (key: string) => {
    entries.delete(key);
    evictable.delete(key);
  };
  const sweep = () => {
    const now = Date.now();
    sweptAt = now;
    for (const [key, entry] of entries) if (entry.expiresAt <= now) remove(key);
  };
  // unref: the sweep must never keep a finished process (or test run) alive.
  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();

  const live = (key: string): Entry | undefined => {
    if (closed) throw new TypeError('memory store used after close()');
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > Date.now()) return entry;
    remove(key);
    return undefined;
  };

  const full = () => new StoreUnavailableError('memory', { cause: new Error(`memory store full (${maxEntries} keys)`) });
  const reserve = (key: string) => {
    if (entries.has(key) || entries.size < maxEntries) return;
    // A sweep walks every key: at most once a second, or a flood would pay it on every write.
    if (Date.now() - sweptAt > 1000) sweep();
    if (entries.size < maxEntries) return;
    const oldest = evictable.values().next();
    if (oldest.done !== true) {
      remove(oldest.value);
      return;
    }
    // Nothing evictable: only expired entries can make room. Unauthenticated requests write
    // only evictable entries, so they never reach this walk.
    sweep();
    if (entries.size >= maxEntries) throw full();
  };

  const write = (key: string, entry: Entry, options: PutOptions | undefined) => {
    reserve(key);
    entries.set(key, entry);
    // Re-inserted, so a rewritten key counts as new.
    evictable.delete(key);
    if (options?.evictable === true) evictable.add(key);
  };

  const valueOf = <T>(entry: Entry | undefined): T | undefined => {
    if (entry === undefined) return undefined;
    if (entry.kind !== 'value') throw new TypeError('key holds a set, not a value');
    return JSON.parse(entry.json) as T;
  };

  // Every method body is synchronous up to its return, so on Node's single thread each
  // operation (take, takeSet) is atomic without locks.
  return {
    async put(key, value, ttlSeconds, options) {
      const json = toJson(value);
      const expiresAt = Date.now() + ttlMs(ttlSeconds);
      live(key);
      write(key, { kind: 'value', json, expiresAt }, options);
    },

    async get<T>(key: string) {
      return valueOf<T>(live(key));
    },

    async putIfAbsent(key, value, ttlSeconds, options) {
      const json = toJson(value);
      const expiresAt = Date.now() + ttlMs(ttlSeconds);
      if (live(key) !== undefined) return false;
      write(key, { kind: 'value', json, expiresAt }, options);
      return true;
    },

    async take<T>(key: string) {
      const value = valueOf<T>(live(key));
      remove(key);
      return value;
    },

    async delete(key) {
      live(key);
      remove(key);
    },

    async addToSet(key, member, ttlSeconds) {
      const expiresAt = Date.now() + ttlMs(ttlSeconds);
      const entry = live(key);
      if (entry === undefined) {
        write(key, { kind: 'set', members: new Set([member]), expiresAt }, undefined);
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
      remove(key);
      return [...entry.members];
    },

    rateLimiter(name, { points, durationSeconds }) {
      const id = `${name}:${points}/${durationSeconds}`;
      let limiter = limiters.get(id);
      if (limiter === undefined) {
        limiter = rateLimiterOver(new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds }), (call) => call());
        limiters.set(id, limiter);
      }
      return limiter;
    },

    // Not ready while at the bound: a flood is evicting interactions and challenges, or writes fail.
    async ping() {
      if (closed) throw new StoreUnavailableError('memory', { cause: new Error('memory store closed') });
      if (entries.size >= maxEntries) sweep();
      if (entries.size >= maxEntries) throw full();
    },

    async close() {
      closed = true;
      clearInterval(timer);
      entries.clear();
      evictable.clear();
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
