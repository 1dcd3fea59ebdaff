// One-time challenges: 256 random bits, naming this service so a signature over one cannot be
// replayed to another service. The first sign-in that presents an id consumes it (atomic take).
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { ServiceError } from '../errors.ts';
import type { EphemeralStore } from '../stores/types.ts';

export interface Challenge {
  id: string;
  /** The exact text the signer signs (as UTF-8). */
  challenge: string;
  expiresAt: string;
}

interface StoredChallenge {
  challenge: string;
  expiresAt: number;
}

export interface Challenges {
  issue(): Promise<Challenge>;
  /** Consumes the challenge whatever happens next; throws `challenge_invalid` if unknown, used or expired. */
  consume(id: string): Promise<Uint8Array>;
}

const challengeKey = (id: string) => `challenge:${id}`;
const idPattern = /^[A-Za-z0-9_-]{22,64}$/;

export function createChallenges(options: { store: EphemeralStore; clock: Clock; issuer: string; ttlSeconds: number }): Challenges {
  const { store, clock, issuer, ttlSeconds } = options;
  return {
    async issue() {
      const id = randomBytes(18).toString('base64url');
      const issuedAt = clock.now();
      const expiresAt = new Date(issuedAt.getTime() + ttlSeconds * 1000);
      const challenge = [
        'Yagona ID sign-in',
        `service: ${issuer}`,
        `nonce: ${randomBytes(32).toString('base64url')}`,
        `issued: ${issuedAt.toISOString()}`,
      ].join('\n');
      // Anyone may ask for one: when the in-process store is full, old challenges go first.
      await store.put(challengeKey(id), { challenge, expiresAt: expiresAt.getTime() } satisfies StoredChallenge, ttlSeconds, { evictable: true });
      return { id, challenge, expiresAt: expiresAt.toISOString() };
    },

    async consume(id) {
      if (!idPattern.test(id)) throw new ServiceError('challenge_invalid', 'unknown challenge');
      const stored = await store.take<StoredChallenge>(challengeKey(id));
      if (stored === undefined) throw new ServiceError('challenge_invalid', 'unknown, expired or already used challenge');
      // The store's TTL is coarse (seconds); the stored deadline is exact.
      if (clock.now().getTime() >= stored.expiresAt) throw new ServiceError('challenge_invalid', 'the challenge has expired');
      return new TextEncoder().encode(stored.challenge);
    },
  };
}
