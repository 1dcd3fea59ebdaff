// Value rules shared by the Redis store and its in-process twin, so both accept and refuse
// exactly the same inputs.

/** JSON text of a value, refusing what JSON cannot carry (undefined, functions, symbols). */
export function toJson(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError('value is not JSON-serialisable');
  return json;
}

/** TTL in milliseconds; fractions of a second are allowed (tests use short TTLs). */
export function ttlMs(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new TypeError(`ttlSeconds must be a positive number, got ${ttlSeconds}`);
  return Math.ceil(ttlSeconds * 1000);
}

/** Default for a failing notification handler: visible on stderr, never a crash. */
export function warnHandlerError(error: unknown): void {
  process.emitWarning(`notification handler failed: ${error instanceof Error ? error.message : String(error)}`);
}
