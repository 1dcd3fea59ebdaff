// How an agency's API checks an access token its app sends: locally with the service's JWKS,
// or by asking the service (introspection). The README quotes the region below, and
// test/oidc/agencyGuides.test.ts shows what each one notices.
// #region guide
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';

/** Offline: signature, issuer, audience, type, expiry. Blind to a logout or revocation until exp (10 min). */
export function localCheck(config: oidc.Configuration): (accessToken: string) => Promise<JWTPayload> {
  const { issuer, jwks_uri: jwksUri } = config.serverMetadata();
  const jwks = createRemoteJWKSet(new URL(String(jwksUri)));
  return async (accessToken) => (await jwtVerify(accessToken, jwks, {
    issuer, audience: config.clientMetadata().client_id, typ: 'at+jwt', algorithms: ['ES256'],
  })).payload;
}

/** At the service (one request each time): inactive at once after logout, revocation or the client's removal. */
export async function introspect(config: oidc.Configuration, accessToken: string): Promise<oidc.IntrospectionResponse | undefined> {
  const answer = await oidc.tokenIntrospection(config, accessToken);
  return answer.active ? answer : undefined;
}
// #endregion guide
