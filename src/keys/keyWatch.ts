// Keeps an instance's signing keys in step with the database after `admin keys rotate` runs
// in another process: at once on the Redis message, and every `intervalMs` otherwise (the
// embedded default has no channel). Until then the instance signs with the retired key,
// which stays valid and published for a token lifetime, so the lag costs nothing but time.
import type { Notifier } from '../stores/types.ts';
import type { KeyRing } from './keyRing.ts';

/** The channel `admin keys rotate` publishes `{ kid }` on. */
export const signingKeysChannel = 'signing-keys';

export interface KeyWatchOptions {
  keys: KeyRing;
  notifier?: Notifier;
  log: { warn(object: object, message: string): void };
  intervalMs?: number;
}

export async function watchSigningKeys(options: KeyWatchOptions): Promise<() => Promise<void>> {
  const { keys, notifier, log } = options;
  const reload = () => keys.reload().catch((error: unknown) => log.warn({ err: error }, 'could not reload the signing keys'));
  const timer = setInterval(() => void reload(), options.intervalMs ?? 5000);
  timer.unref();
  const unsubscribe = notifier === undefined ? undefined : await notifier.subscribe(signingKeysChannel, () => reload());
  return async () => {
    clearInterval(timer);
    await unsubscribe?.().catch(() => undefined);
  };
}
