// Sign-in assertions over HTTP against the real app. A refusal is checked whole, the reject
// invariant of docs/security-cases.md (R1–R3): its status and code in a problem+json body (a
// 503 also says when to retry), no session made, one failure audit event with that code, and
// the challenge gone — a correct body for it is refused afterwards. An accepted sign-in makes
// exactly one session.
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

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

async function challenge(app: TestApp): Promise<{ id: string; challenge: string }> {
  const res = await app.post('/v1/challenges', {});
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; challenge: string };
}

/** An RFC 9457 answer with `status` and `code`, a type, title and detail, and no stack trace or library text. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await res.json()) as Problem;
  assert.equal(body.code, code, `expected ${code}, got ${body.code}: ${body.detail}`);
  assert.equal(res.status, status);
  assert.equal(body.status, status);
  assert.ok(body.type && body.title && body.detail, JSON.stringify(body));
  assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+|Error:/, 'no stack traces or library text');
  if (status === 503) assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'a 503 says when to retry');
  return body;
}

/**
 * The whole refusal of the sign-in `send()` makes: `status` and `code`, no session, one failure
 * audit event with that code, and the challenge gone — `retry`, a body for the same challenge
 * that would otherwise be accepted, is refused as challenge_invalid on /v1/sessions.
 */
export async function expectRefusal(app: TestApp, send: () => Promise<Response>, status: number, code: string, retry: unknown): Promise<Problem> {
  const auditBefore = (await app.db.audit.tail(10_000)).length;
  const sessionsBefore = await app.sessionCount();
  const problem = await expectProblem(await send(), status, code);
  assert.equal(await app.sessionCount(), sessionsBefore, 'no session created');
  const audit = await app.db.audit.tail(10_000);
  assert.equal(audit.length, auditBefore + 1, 'one audit event');
  assert.equal(audit.at(-1)?.outcome, 'failure');
  assert.equal(audit.at(-1)?.code, code);
  await expectProblem(await app.post('/v1/sessions', retry), 403, 'challenge_invalid');
  assert.equal(await app.sessionCount(), sessionsBefore, 'the retry made no session either');
  return problem;
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

/** A fresh challenge signed by `signer`, refused whole (`expectRefusal`); returns the problem's detail. */
export async function expectRejected(app: TestApp, signer: Signer, status: number, code: string, cms: Partial<SignCmsOptions> = {}): Promise<string> {
  const body = bodyFor(signer, await challenge(app), cms);
  return (await expectRefusal(app, () => app.post('/v1/sessions', body), status, code, body)).detail;
}
