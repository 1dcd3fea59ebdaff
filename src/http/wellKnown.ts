// Discovery (OIDC Discovery 1.0 §3, RFC 8414) and keys: every endpoint and what it supports.
import { Router, type Request, type Response } from 'express';
import { supportedAcrValues, supportedUiLocales } from '../oidc/authorize.ts';
import { authMethods, clientAlgorithms, confidentialAuthMethods, idTokenAlgorithms, supportedScopes } from '../oidc/clients.ts';
import type { KeyRing } from '../keys/keyRing.ts';
import { dpopAlgorithms } from '../oidc/dpop.ts';

export function wellKnownRouter(deps: { issuerUrl: string; keys: KeyRing }): Router {
  const router = Router();
  const issuer = deps.issuerUrl;
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    end_session_endpoint: `${issuer}/logout`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    // RFC 9126 §5: pushing is open to every client; each may be required to (its registration).
    pushed_authorization_request_endpoint: `${issuer}/par`,
    require_pushed_authorization_requests: false,
    scopes_supported: supportedScopes,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['pairwise', 'public'],
    // OIDC Discovery §3: RS256 must be offered; each client picks its own (id_token_signed_response_alg).
    id_token_signing_alg_values_supported: idTokenAlgorithms,
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: clientAlgorithms,
    // RFC 7662 §2.1: only a client that proves itself learns about tokens.
    introspection_endpoint_auth_methods_supported: confidentialAuthMethods,
    introspection_endpoint_auth_signing_alg_values_supported: clientAlgorithms,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: clientAlgorithms,
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'sid', 'name', 'family_name', 'given_name', 'pinfl', 'tin', 'organization'],
    acr_values_supported: supportedAcrValues,
    // OIDC Prompt Create §4.1 names this list; create is not offered (nobody registers here).
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    ui_locales_supported: supportedUiLocales,
    claims_parameter_supported: false,
    // RFC 9101: signed request objects by value (and pushed); by reference only as PAR's own
    // request_uri, so fetching request objects from URLs is not supported (OIDC Discovery §3).
    request_parameter_supported: true,
    request_uri_parameter_supported: false,
    request_object_signing_alg_values_supported: clientAlgorithms,
    // RFC 9449 §5.1.
    dpop_signing_alg_values_supported: dpopAlgorithms,
    // RFC 9207: every authorization response carries `iss` (mix-up defence).
    authorization_response_iss_parameter_supported: true,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: false,
  };
  // The same document at both names: OIDC Discovery §4 and RFC 8414 §3 (which OAuth-only
  // libraries ask for); RFC 8414 §2 shares the metadata names.
  const serveMetadata = (_req: Request, res: Response) => {
    res.set('Cache-Control', 'public, max-age=300').json(metadata);
  };
  router.get('/.well-known/openid-configuration', serveMetadata);
  router.get('/.well-known/oauth-authorization-server', serveMetadata);
  router.get('/.well-known/jwks.json', (_req, res) => {
    // Short cache: a rotated key must reach verifiers before tokens signed with it do.
    res.set('Cache-Control', 'public, max-age=60').json(deps.keys.jwks());
  });
  return router;
}
