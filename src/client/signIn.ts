// A sign-in over the direct API as a citizen's software does it (docs/api.md "Direct API"):
// POST /v1/challenges, sign the challenge's UTF-8 bytes as CMS, POST /v1/sessions, then
// GET /v1/sessions/current with the token. Used by `admin sign-in` and the benchmark.
import type { KeyObject } from 'node:crypto';
import type { ExternalSigner } from '../pki/issue/signer.ts';
import { readFile } from 'node:fs/promises';
import { signCms } from '../pki/issue/cmsSign.ts';
import { readPkcs12 } from '../pki/pkcs12/pkcs12.ts';

export interface Credential {
  /** A node:crypto key, or an O'zDSt key's signer (readPkcs12). */
  privateKey: KeyObject | ExternalSigner;
  certificate: Uint8Array;
  /** Intermediates sent along in the SignedData `certificates`. */
  chain: Uint8Array[];
}

export interface Challenge {
  id: string;
  challenge: string;
  expiresAt: string;
}

export interface CreatedSession {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  sessionId: string;
  subject: Record<string, unknown>;
}

export interface SignInOutcome {
  /** The 201 body of POST /v1/sessions. */
  created: CreatedSession;
  /** The 200 body of GET /v1/sessions/current: the session as the service now holds it. */
  current: Record<string, unknown>;
}

export interface ClientOptions {
  /** Base URL of the service, e.g. http://localhost:8080. */
  url: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The service answered with an error: its problem+json `code` and `detail` (RFC 9457). */
export class ProblemError extends Error {
  override name = 'ProblemError';
  readonly code: string;
  readonly detail: string;
  readonly status: number;

  constructor(code: string, detail: string, status: number) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.detail = detail;
    this.status = status;
  }
}

/** Opens a key file; a missing or unreadable file is named in the error. */
export async function loadKeyFile(path: string, password: string): Promise<Credential> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new Error(`cannot read key file ${path}: ${reason}`, { cause: error });
  }
  return readPkcs12(bytes, password);
}

export async function signIn(options: ClientOptions & { credential: Credential }): Promise<SignInOutcome> {
  const challenge = await createChallenge(options);
  const created = await createSession(options, {
    challengeId: challenge.id,
    format: 'cms',
    cms: Buffer.from(signChallenge(options.credential, challenge.challenge)).toString('base64'),
  });
  const current = await getCurrentSession(options, created.accessToken);
  return { created, current };
}

/** Detached CMS SignedData over exactly the challenge's UTF-8 bytes, with the chain attached. */
export function signChallenge(credential: Credential, challenge: string): Uint8Array {
  return signCms({
    content: new TextEncoder().encode(challenge),
    signerCertDer: credential.certificate,
    extraCertDers: credential.chain,
    privateKey: credential.privateKey,
    detached: true,
  });
}

export function createChallenge(options: ClientOptions): Promise<Challenge> {
  return call<Challenge>(options, 'POST', '/v1/challenges', { body: {} });
}

export function createSession(options: ClientOptions, body: Record<string, unknown>): Promise<CreatedSession> {
  return call<CreatedSession>(options, 'POST', '/v1/sessions', { body });
}

export function getCurrentSession(options: ClientOptions, accessToken: string): Promise<Record<string, unknown>> {
  return call<Record<string, unknown>>(options, 'GET', '/v1/sessions/current', { token: accessToken });
}

async function call<T>(
  options: ClientOptions,
  method: 'GET' | 'POST',
  path: string,
  { body, token }: { body?: unknown; token?: string },
): Promise<T> {
  const url = new URL(path, options.url.endsWith('/') ? options.url : `${options.url}/`).href;
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new Error(`cannot reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause: error });
  }
  const text = await response.text();
  const parsed = parseJson(text);
  if (!response.ok) {
    const problem = parsed as { code?: unknown; detail?: unknown; title?: unknown } | undefined;
    throw new ProblemError(
      typeof problem?.code === 'string' ? problem.code : `http_${response.status}`,
      typeof problem?.detail === 'string' ? problem.detail : typeof problem?.title === 'string' ? problem.title : response.statusText,
      response.status,
    );
  }
  if (parsed === undefined) throw new Error(`${method} ${url} answered ${response.status} without JSON`);
  return parsed as T;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
