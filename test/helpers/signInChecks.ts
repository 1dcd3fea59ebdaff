// Sign-in assertions for the revocation-source tests, over HTTP against the real app: an
// accepted sign-in makes a session; a rejected one asserts its code and status, Retry-After on
// a 503, no session, one failure audit event, and that the challenge is gone.
import assert from 'node:assert/strict';
import type { SignCmsOptions } from '../../src/pki/issue/cmsSign.ts';
import type { ExternalSigner } from '../../src/pki/issue/signer.ts';
import type { TestApp } from './app.ts';
import { cmsBody, type Citizen } from './testPki.ts';

export interface Signer {
  certDer: Uint8Array;
  privateKey: Citizen['privateKey'] | ExternalSigner;
  chain: Uint8Array[];
}

/** The 201 body of a sign-in. */
export interface SignedIn {
  accessToken: string;
  subject: Record<string, unknown> & { sub: string };
}

async function challenge(app: TestApp): Promise<{ id: string; challenge: string }> {
  const res = await app.post('/v1/challenges', {});
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; challenge: string };
}

function bodyFor(signer: Signer, c: { id: string; challenge: string }, cms: Partial<SignCmsOptions>) {
  return cmsBody({ ...signer, serialHex: '' }, c.id, c.challenge, cms);
}

export async function expectAccepted(app: TestApp, signer: Signer, cms: Partial<SignCmsOptions> = {}): Promise<SignedIn> {
  const c = await challenge(app);
  const before = await app.sessionCount();
  const res = await app.post('/v1/sessions', bodyFor(signer, c, cms));
  assert.equal(res.status, 201, await res.clone().text());
  assert.equal(await app.sessionCount(), before + 1);
  return (await res.json()) as SignedIn;
}

/** Returns the problem body's detail. */
export async function expectRejected(app: TestApp, signer: Signer, status: number, code: string, cms: Partial<SignCmsOptions> = {}): Promise<string> {
  const c = await challenge(app);
  const body = bodyFor(signer, c, cms);
  const auditBefore = (await app.db.audit.tail(10_000)).length;
  const sessionsBefore = await app.sessionCount();
  const res = await app.post('/v1/sessions', body);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const problem = (await res.json()) as { code: string; status: number; detail: string };
  assert.equal(problem.code, code, `expected ${code}, got ${problem.code}: ${problem.detail}`);
  assert.equal(res.status, status);
  if (status === 503) assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'a 503 says when to retry');
  assert.equal(await app.sessionCount(), sessionsBefore, 'no session created');
  const audit = await app.db.audit.tail(10_000);
  assert.equal(audit.length, auditBefore + 1, 'one audit event');
  assert.equal(audit.at(-1)?.outcome, 'failure');
  assert.equal(audit.at(-1)?.code, code);
  const retry = await app.post('/v1/sessions', body);
  assert.equal(retry.status, 403);
  assert.equal(((await retry.json()) as { code: string }).code, 'challenge_invalid', 'the challenge is gone');
  assert.equal(await app.sessionCount(), sessionsBefore);
  return problem.detail;
}
