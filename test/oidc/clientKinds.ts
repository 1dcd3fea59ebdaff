// The three kinds of agency app as an agency would set each up with openid-client: a FAPI 2.0
// backend (private_key_jwt, PAR, DPoP), a mobile app (public, loopback redirect, DPoP) and a
// web backend (client secret); and hand-made DPoP proofs for what no certified client sends.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { TestApp } from '../helpers/app.ts';
import { addClient, oidc, type TestClient } from './helpers.ts';

export const fapiRedirectUri = 'https://kadastr.example.uz/callback';
export const nativeScheme = 'uz.yagona.test.app';

export interface KeyHolder {
  privateKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
}

export async function keyHolder(alg = 'ES256'): Promise<KeyHolder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

export interface FapiClient extends TestClient {
  /** The agency's signing key (its public half registered). */
  key: KeyHolder;
  kid: string;
  config: oidc.Configuration;
  /** The DPoP key pair every token request proves. */
  dpop: oidc.DPoPHandle;
  dpopKeys: CryptoKeyPair;
}

/** `admin clients add --profile fapi2 --jwks …`, and openid-client with PrivateKeyJwt and DPoP. */
export async function fapiClient(app: TestApp, options: { idTokenAlg?: 'ES256' | 'PS256'; keyAlg?: 'ES256' | 'PS256' } = {}): Promise<FapiClient> {
  const key = await keyHolder(options.keyAlg ?? 'ES256');
  const kid = `agency-${randomBytes(4).toString('hex')}`;
  const registered = await addClient(app, {
    profile: 'fapi2', redirectUris: [fapiRedirectUri], postLogoutRedirectUris: ['https://kadastr.example.uz/signed-out'],
    jwks: { keys: [{ ...key.publicJwk, kid, alg: options.keyAlg ?? 'ES256', use: 'sig' }] },
    ...(options.idTokenAlg === undefined ? {} : { idTokenSignedResponseAlg: options.idTokenAlg }),
  });
  const config = await oidc.discovery(new URL(app.url), registered.client.clientId,
    { id_token_signed_response_alg: registered.client.idTokenSignedResponseAlg },
    oidc.PrivateKeyJwt({ key: key.privateKey, kid }), { execute: [oidc.allowInsecureRequests] });
  const dpopKeys = await oidc.randomDPoPKeyPair('ES256');
  return { ...registered, key, kid, config, dpop: oidc.getDPoPHandle(config, dpopKeys), dpopKeys };
}

export interface NativeClient extends TestClient {
  config: oidc.Configuration;
  dpop: oidc.DPoPHandle;
  dpopKeys: CryptoKeyPair;
}

/** `admin clients add --type native`: loopback and private-use redirects, no secret, openid-client with None() and DPoP. */
export async function nativeClient(app: TestApp): Promise<NativeClient> {
  const registered = await addClient(app, {
    applicationType: 'native', redirectUris: ['http://127.0.0.1/callback', `${nativeScheme}:/oauth2redirect`],
    postLogoutRedirectUris: [`${nativeScheme}:/signed-out`],
  });
  assert.equal(registered.secret, undefined);
  const config = await oidc.discovery(new URL(app.url), registered.client.clientId, { token_endpoint_auth_method: 'none' }, oidc.None(),
    { execute: [oidc.allowInsecureRequests] });
  const dpopKeys = await oidc.randomDPoPKeyPair('ES256');
  return { ...registered, config, dpop: oidc.getDPoPHandle(config, dpopKeys), dpopKeys };
}

export interface ProofInput {
  htm?: string;
  htu: string;
  nonce?: string;
  ath?: string;
  iat?: number;
  jti?: string;
}

/** A DPoP proof (RFC 9449 §4.2) made by hand, for what openid-client would never send. */
export function dpopProof(key: KeyHolder, input: ProofInput, alg = 'ES256'): Promise<string> {
  return new SignJWT({
    jti: input.jti ?? randomBytes(16).toString('base64url'),
    htm: input.htm ?? 'POST',
    htu: input.htu,
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    ...(input.ath === undefined ? {} : { ath: input.ath }),
  }).setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: key.publicJwk })
    .setIssuedAt(input.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);
}

/** A DPoP key pair as openid-client holds it, as a KeyHolder for hand-made proofs. */
export async function holderOf(pair: CryptoKeyPair): Promise<KeyHolder> {
  const publicJwk = await exportJWK(pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

/** The DPoP nonce of the moment: what any refused proof without one is told (RFC 9449 §8). */
export async function currentDpopNonce(app: TestApp): Promise<string> {
  return app.deps.oidc.dpopNonces.current();
}

/** An error page: 400 HTML naming the OAuth error code, never a redirect, no interaction started. */
export async function assertErrorPage(res: Response, error: string, status = 400): Promise<void> {
  const html = await res.text();
  assert.equal(res.status, status, html);
  assert.equal(res.headers.get('location'), null, 'never a redirect');
  assert.equal(res.headers.getSetCookie().some((c) => c.includes('yagona-browser')), false, 'no interaction started');
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(html, new RegExp(`<code>${error}</code>`));
}

/** A JSON OAuth error: status, code, no-store. */
export async function assertOAuthError(res: Response, status: number, error: string): Promise<{ error_description: string }> {
  const body = (await res.json()) as { error: string; error_description: string };
  assert.equal(body.error, error, body.error_description);
  assert.equal(res.status, status, body.error_description);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return body;
}
