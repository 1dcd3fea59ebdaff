// What operator commands open from the service's own environment (docs/api.md, "Operator
// command line": the same configuration as the service): the database, and Redis when the
// service uses it.
import { loadConfig, type Config } from '../config.ts';
import { createRedisNotifier, createRedisStore } from '../stores/redis.ts';
import { openDatabase } from '../stores/sql/database.ts';
import { isStoreUnavailable, type Database, type EphemeralStore, type Notifier } from '../stores/types.ts';
import type { AdminIo } from './command.ts';

/** A URL fit for an error line: no password. */
export function displayUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The driver's own words for an outage, which the service keeps out of its 503 bodies. */
export function causeOf(error: unknown): string {
  const cause = isStoreUnavailable(error) && error.cause !== undefined ? error.cause : error;
  if (cause instanceof AggregateError && cause.errors.length > 0) return causeOf(cause.errors[0]);
  return cause instanceof Error ? cause.message || cause.name : String(cause);
}

/** Runs `run` with the database `io`'s environment names open; an outage becomes one line naming it. */
export async function withDatabase<T>(io: AdminIo, run: (db: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  let db: Database;
  try {
    // knex's own log lines would add a stack to the one line the operator gets.
    db = await openDatabase(config.databaseUrl, { log: () => undefined });
  } catch (error) {
    throw new Error(`the database ${displayUrl(config.databaseUrl)} is unavailable: ${causeOf(error)}`, { cause: error });
  }
  try {
    return await run(db, config);
  } catch (error) {
    if (isStoreUnavailable(error)) throw new Error(`the database ${displayUrl(config.databaseUrl)} stopped answering: ${causeOf(error)}`, { cause: error });
    // knex prefixes the driver's message with the whole statement, which can be megabytes.
    if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
      throw new Error(`database error: ${error.message.slice(error.message.lastIndexOf(' - ') + 3)}`, { cause: error });
    }
    throw error;
  } finally {
    await db.close();
  }
}

export interface SharedStores {
  sessions: EphemeralStore;
  notifier: Notifier;
  url: string;
  close(): Promise<void>;
}

/** Redis as the service uses it (same key prefix), or undefined with the embedded default. */
export function openSharedStores(config: Config): SharedStores | undefined {
  if (config.redisUrl === undefined) return undefined;
  const sessions = createRedisStore(config.redisUrl);
  const notifier = createRedisNotifier(config.redisUrl);
  return {
    sessions,
    notifier,
    url: displayUrl(config.redisUrl),
    close: async () => void (await Promise.allSettled([sessions.close(), notifier.close()])),
  };
}
