// The public keys an agency app signs with — private_key_jwt assertions (RFC 7523) and request
// objects (RFC 9101 §6.1): its registered JWK Set, or the set it publishes at its jwks_uri
// (OIDC Registration §2), fetched without following redirects and cached, refetched when a
// signature names a `kid` the cache lacks (the agency rotated), at most every 30 s.
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import type { ClientRecord } from '../stores/types.ts';

export interface ClientKeys {
  /** What jose's jwtVerify takes as the key: the key the JWS header names, from this client's keys only (RFC 8725 §3.10). */
  of(client: Pick<ClientRecord, 'jwks' | 'jwksUri'>): JWTVerifyGetKey;
}

/** Bounded: registered clients are few, but a flood of updates must not grow memory forever. */
const maxRemoteSets = 1000;

export function createClientKeys(options: { timeoutMs?: number } = {}): ClientKeys {
  const remote = new Map<string, RemoteJWKSet>();
  return {
    of(client) {
      if (client.jwksUri === null) return createLocalJWKSet(JSON.parse(client.jwks ?? '{"keys":[]}') as JSONWebKeySet);
      let set = remote.get(client.jwksUri);
      if (set === undefined) {
        set = createRemoteJWKSet(new URL(client.jwksUri), { timeoutDuration: options.timeoutMs ?? 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
        if (remote.size >= maxRemoteSets) remote.delete(remote.keys().next().value as string);
        remote.set(client.jwksUri, set);
      }
      return set;
    },
  };
}
