// The direct API (docs/api.md "Direct API"): challenges and sessions under /v1.
import { Router, type Request } from 'express';
import { ServiceError, isServiceError } from '../errors.ts';
import type { Challenges } from '../login/challenges.ts';
import type { SessionRecord, Sessions } from '../sessions/sessions.ts';
import { signIn, type SignInDeps, type SignInResult } from '../login/signIn.ts';
import type { Metrics } from './metrics.ts';

export interface ApiDeps {
  challenges: Challenges;
  sessions: Sessions;
  signIn: SignInDeps;
  metrics: Metrics;
}

export function apiRouter(deps: ApiDeps): Router {
  const router = Router();

  router.post('/challenges', async (_req, res) => {
    res.status(201).json(await deps.challenges.issue());
  });

  router.post('/sessions', async (req, res) => {
    const result = await observedSignIn(deps, req);
    res.status(201).json(signInResponse(result));
  });

  router.get('/sessions/current', async (req, res) => {
    const record = await deps.sessions.authenticate(bearerToken(req));
    res.json(sessionView(record));
  });

  router.delete('/sessions/current', async (req, res) => {
    const record = await deps.sessions.authenticate(bearerToken(req));
    await deps.sessions.end(record.sid);
    await deps.signIn.audit.append({
      at: deps.signIn.clock.now(), type: 'logout', outcome: 'success', requestId: req.id,
      certificateSha256: record.certificateSha256, subject: record.sub, details: { sid: record.sid, ...clientAddress(req) },
    });
    res.status(204).end();
  });

  return router;
}

export async function observedSignIn(deps: Pick<ApiDeps, 'signIn' | 'metrics'>, req: Request, clientId?: string): Promise<SignInResult> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const result = await signIn(deps.signIn, req.body, { requestId: req.id, ...(clientId ? { clientId } : {}), ...clientAddress(req) });
    deps.metrics.observeSignIn('success', elapsed());
    return result;
  } catch (error) {
    deps.metrics.observeSignIn(isServiceError(error) ? error.code : 'internal_error', elapsed());
    throw error;
  }
}

export function signInResponse({ session, identity }: SignInResult) {
  return {
    accessToken: session.accessToken,
    tokenType: 'Bearer',
    expiresIn: session.expiresIn,
    sessionId: session.record.sid,
    subject: { sub: session.record.sub, ...identity },
  };
}

function sessionView(record: SessionRecord) {
  return {
    sessionId: record.sid,
    subject: { sub: record.sub, ...record.identity },
    authTime: new Date(record.authTime * 1000).toISOString(),
    expiresAt: new Date(record.expiresAt * 1000).toISOString(),
    amr: record.amr,
    acr: record.acr,
  };
}

/** The client's address for audit rows, as TRUST_PROXY yields it. */
export const clientAddress = (req: Request) => (req.ip === undefined ? {} : { clientAddress: req.ip });

/** RFC 6750 §2.1 only: tokens in the query string or body are not accepted (they leak into logs). */
export function bearerToken(req: Request): string {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.get('authorization') ?? '');
  if (match?.[1] === undefined) throw new ServiceError('session_invalid', 'a Bearer access token is required');
  return match[1];
}
