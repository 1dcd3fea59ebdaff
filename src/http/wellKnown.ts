// Discovery and keys. The OIDC issue completes the metadata; issuer and jwks_uri are here now.
import { Router } from 'express';
import type { KeyRing } from '../oidc/keys.ts';

export function wellKnownRouter(deps: { issuerUrl: string; keys: KeyRing }): Router {
  const router = Router();
  router.get('/.well-known/openid-configuration', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json({
      issuer: deps.issuerUrl,
      jwks_uri: `${deps.issuerUrl}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['ES256'],
    });
  });
  router.get('/.well-known/jwks.json', (_req, res) => {
    // Short cache: a rotated key must reach verifiers before tokens signed with it do.
    res.set('Cache-Control', 'public, max-age=60').json(deps.keys.jwks());
  });
  return router;
}
