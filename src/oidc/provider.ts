// Everything the OIDC endpoints need, built once from the service's parts (compose.ts).
import type { Clock } from '../clock.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { SignInDeps } from '../login/signIn.ts';
import type { AuditStore, ClientStore, EphemeralStore, RateLimiter, RevocationStore } from '../stores/types.ts';
import { createBackChannel, type BackChannel } from './backChannel.ts';
import { createClientKeys, type ClientKeys } from './clientKeys.ts';
import { createDpopNonces, type DpopNonces } from './dpop.ts';
import { createGrants, type Grants } from './grants.ts';
import { createSsoSessions, type SsoSessions } from './ssoSessions.ts';
import type { KeyRing } from '../keys/keyRing.ts';

export interface OidcDeps {
  issuer: string;
  store: EphemeralStore;
  keys: KeyRing;
  clock: Clock;
  sessions: Sessions;
  clients: ClientStore;
  /** Each client's public keys, registered or at its jwks_uri. */
  clientKeys: ClientKeys;
  /** RFC 9449 §8: the server nonces DPoP proofs carry, shared by every instance. */
  dpopNonces: DpopNonces;
  revocations: RevocationStore;
  grants: Grants;
  /** The browsers' single sign-on sessions (SSO_IDLE_SECONDS, SSO_MAX_SECONDS). */
  sso: SsoSessions;
  backChannel: BackChannel;
  signIn: SignInDeps;
  /** The sign-in's audit log: logouts and detected token reuse are recorded there too. */
  audit: AuditStore;
  /** Secure, `__Host-` cookies when the issuer is https (RFC 6265bis §4.1.3.2). */
  secureCookies: boolean;
  /** Failed token requests per client_id. */
  tokenFailures: RateLimiter;
}

/** What compose.ts hands over; the rest of OidcDeps is built from it here. */
export type OidcParts = Omit<OidcDeps, 'grants' | 'sso' | 'backChannel' | 'audit' | 'secureCookies' | 'clientKeys' | 'dpopNonces'>
  & { log: BackChannelLog; ssoIdleSeconds: number; ssoMaxSeconds: number };

type BackChannelLog = Parameters<typeof createBackChannel>[0]['log'];

export function createOidc(parts: OidcParts): OidcDeps {
  const grants = createGrants({ store: parts.store, clock: parts.clock, sessions: parts.sessions });
  const sso = createSsoSessions({ store: parts.store, clock: parts.clock, idleSeconds: parts.ssoIdleSeconds, maxSeconds: parts.ssoMaxSeconds });
  const backChannel = createBackChannel({ issuer: parts.issuer, keys: parts.keys, clients: parts.clients, grants, sso, clock: parts.clock, audit: parts.signIn.audit, log: parts.log });
  return {
    issuer: parts.issuer,
    store: parts.store,
    keys: parts.keys,
    clock: parts.clock,
    sessions: parts.sessions,
    clients: parts.clients,
    clientKeys: createClientKeys(),
    dpopNonces: createDpopNonces({ store: parts.store, clock: parts.clock }),
    revocations: parts.revocations,
    grants,
    sso,
    backChannel,
    signIn: parts.signIn,
    audit: parts.signIn.audit,
    secureCookies: parts.issuer.startsWith('https:'),
    tokenFailures: parts.tokenFailures,
  };
}
