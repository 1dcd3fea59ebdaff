// DPoP (RFC 9449): a client proves, with every request, that it holds the private key its
// tokens are bound to. A proof is a JWT signed with that key, whose public half rides in the
// header; it names the request (htm, htu), is fresh (iat, a server nonce), is used once (jti),
// and at a resource also names the access token (ath). Tokens carry the key's thumbprint
// (`cnf.jkt`, RFC 7638), so a stolen token is worth nothing without the key.
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import type { Clock } from '../clock.ts';
import type { EphemeralStore } from '../stores/types.ts';
import { OAuthError } from '../errors.ts';

/** RFC 9449 §5.1 `dpop_signing_alg_values_supported`: the FAPI 2.0 pair (§5.4.1), asymmetric only (§4.3 item 5). */
export const dpopAlgorithms = ['ES256', 'PS256'];
/** RFC 9449 §11.1: a proof is fresh for a minute after its iat; a client clock may run ahead a little. */
export const dpopMaxAgeSeconds = 60;
const dpopClockToleranceSeconds = 10;
/** RFC 9449 §8: a server nonce is good for one window and the next, so one issued just before a window ends still works. */
export const dpopNonceWindowSeconds = 300;

export interface DpopNonces {
  /** The nonce to hand out now (RFC 9449 §8.2 `DPoP-Nonce`). */
  current(): Promise<string>;
  /** Whether a proof's nonce is one this service handed out lately (on any instance). */
  accepts(nonce: string): Promise<boolean>;
}

/**
 * One random nonce per window, shared through the ephemeral store so every instance hands
 * out and accepts the same one: the first instance to need a window's nonce writes it
 * (putIfAbsent), the others read the winner. Cached here; a window's nonce never changes.
 */
export function createDpopNonces({ store, clock }: { store: EphemeralStore; clock: Clock }): DpopNonces {
  const known = new Map<number, string>();
  const windowOf = () => Math.floor(clock.now().getTime() / 1000 / dpopNonceWindowSeconds);
  const key = (window: number) => `oidc:dpop-nonce:${window}`;
  const ttlSeconds = 2 * dpopNonceWindowSeconds + 60;

  async function nonceOf(window: number, create: boolean): Promise<string | undefined> {
    const cached = known.get(window);
    if (cached !== undefined) return cached;
    if (create) await store.putIfAbsent(key(window), randomBytes(24).toString('base64url'), ttlSeconds);
    const value = await store.get<string>(key(window));
    if (value === undefined) return undefined;
    for (const old of known.keys()) if (old < window - 1) known.delete(old);
    known.set(window, value);
    return value;
  }

  return {
    async current() {
      const value = await nonceOf(windowOf(), true);
      if (value === undefined) throw new TypeError('the DPoP nonce was not stored');
      return value;
    },
    async accepts(nonce) {
      const window = windowOf();
      return nonce === await nonceOf(window, true) || nonce === await nonceOf(window - 1, false);
    },
  };
}

export interface DpopDeps {
  store: EphemeralStore;
  clock: Clock;
  dpopNonces: DpopNonces;
}

export interface DpopRequest {
  /** The DPoP header as received: undefined when absent. */
  proof: string | undefined;
  method: string;
  /** The URL the client addressed: the issuer's public URL and the endpoint's path (RFC 9449 §4.3 item 9). */
  url: string;
  /** At a resource: the access token the proof must name (`ath`, RFC 9449 §4.3 item 11). */
  accessToken?: string;
  /**
   * Where the answer goes: the authorization server answers 400 in the body (RFC 9449 §5),
   * a resource 401 with a `DPoP` challenge (§7.1).
   */
  at: 'authorization-server' | 'resource';
}

/** The proof's key: its RFC 7638 thumbprint, what tokens are bound to. */
export interface DpopKey {
  jkt: string;
}

/**
 * RFC 9449 §4.3, the checks in its order. Throws OAuthError `invalid_dpop_proof`, or
 * `use_dpop_nonce` carrying a fresh nonce when the proof has none or an old one (§8, §9).
 */
export async function verifyDpopProof(deps: DpopDeps, request: DpopRequest): Promise<DpopKey> {
  const fail = (description: string, cause?: unknown) => dpopError(request, 'invalid_dpop_proof', description, { cause });
  const { proof } = request;
  // Item 1: one DPoP header. Node joins repeated headers with ", ", which no JWT contains.
  if (proof === undefined || proof === '') throw fail('a DPoP proof is required');
  if (proof.includes(',')) throw fail('send exactly one DPoP header');
  // Items 2 to 7: a JWT of type dpop+jwt, an allowed asymmetric algorithm, signed by the
  // public key in its own header, which carries no private part (jose's EmbeddedJWK refuses one).
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: dpopAlgorithms,
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      // Item 11: iat within an acceptable window.
      maxTokenAge: dpopMaxAgeSeconds,
      clockTolerance: dpopClockToleranceSeconds,
      currentDate: deps.clock.now(),
    });
  } catch (cause) {
    throw fail('the DPoP proof is not a valid dpop+jwt signed by the key in its header, issued within the last minute', cause);
  }
  const { payload, protectedHeader } = verified;
  const claims = payload as { jti: unknown; htm: unknown; htu: unknown; nonce?: unknown; ath?: unknown };
  if (typeof claims.jti !== 'string' || claims.jti.length < 16 || claims.jti.length > 256) throw fail('the DPoP proof\'s jti must be 16 to 256 characters');
  // Item 8: the method, compared exactly.
  if (claims.htm !== request.method) throw fail(`the DPoP proof is for ${String(claims.htm)}, this request is ${request.method}`);
  // Item 9: the URI without query and fragment, after syntax-based normalisation (RFC 3986 §6.2.2, §6.2.3).
  if (typeof claims.htu !== 'string' || normalisedUri(claims.htu) !== normalisedUri(request.url)) throw fail('the DPoP proof is for another URL');
  // Item 11: the access token it travels with, by hash.
  if (request.accessToken !== undefined) {
    const ath = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
    if (claims.ath !== ath) throw fail('the DPoP proof does not name this access token (ath)');
  }
  // Item 10: a nonce this service handed out recently (§8); a missing or stale one is not an
  // attack, so the answer carries a fresh one and the client retries once.
  if (typeof claims.nonce !== 'string' || !(await deps.dpopNonces.accepts(claims.nonce))) {
    throw dpopError(request, 'use_dpop_nonce', 'use the DPoP nonce this answer carries', { dpopNonce: await deps.dpopNonces.current() });
  }
  const jkt = await calculateJwkThumbprint(protectedHeader.jwk as JWK, 'sha256');
  // §11.1: each proof once. Checked last, so a proof refused above for a stale nonce can be
  // replaced, and a replay racing the original loses (putIfAbsent is atomic across instances).
  const replayKey = `oidc:dpop-jti:${createHash('sha256').update(`${jkt}:${claims.jti}`, 'utf8').digest('base64url')}`;
  if (!(await deps.store.putIfAbsent(replayKey, 1, dpopMaxAgeSeconds + 2 * dpopClockToleranceSeconds))) throw fail('this DPoP proof was used before');
  return { jkt };
}

/** A proof's key must be the one the token (or code) is bound to (RFC 9449 §4.3 item 12, §10). */
export function assertSameKey(request: Pick<DpopRequest, 'at'>, key: DpopKey, boundJkt: string): void {
  if (key.jkt !== boundJkt) throw dpopError(request, 'invalid_dpop_proof', 'the DPoP proof is signed with another key than the one the token is bound to', {});
}

/** The challenge a resource answers with (RFC 9449 §7.1); `error` only when there was an attempt. */
export function dpopChallenge(error?: { code: string; description: string }): string {
  const parts = [`algs="${dpopAlgorithms.join(' ')}"`];
  if (error !== undefined) parts.unshift(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, "'")}"`);
  return `DPoP ${parts.join(', ')}`;
}

function dpopError(request: Pick<DpopRequest, 'at'>, code: 'invalid_dpop_proof' | 'use_dpop_nonce', description: string, options: { cause?: unknown; dpopNonce?: string }): OAuthError {
  if (request.at === 'authorization-server') return new OAuthError(code, description, options);
  return new OAuthError(code, description, { ...options, status: 401, wwwAuthenticate: dpopChallenge({ code, description }) });
}

function normalisedUri(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    // WHATWG URL parsing lower-cases scheme and host, drops a default port and resolves dot
    // segments (RFC 3986 §6.2.2.1, §6.2.2.3, §6.2.3).
    return `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}
