// The only outbound HTTP of the revocation sources. A URL inside a certificate is attacker
// text until the path has validated, and even then it must not reach arbitrary hosts
// (docs/security-cases.md §C 50, §D 64–65; ASVS 13.2.4): http only, a listed host, no redirects,
// a size cap and one deadline for the whole exchange. Every failure is revocation_unknown.
import { ServiceError } from '../errors.ts';

export interface BoundedRequest {
  url: string;
  /** Lower-case `host` or `host:port` entries; an entry without a port means port 80. */
  allowedHosts: readonly string[];
  timeoutMs: number;
  maxBytes: number;
  /** POST this body (OCSP); GET when absent (CRL). */
  body?: { contentType: string; bytes: Uint8Array };
  /** The response's media type must be this one (OCSP: RFC 6960 Appendix A.1). */
  expectContentType?: string;
}

/** Whether `url` is an http URL on one of `allowedHosts`; a reason string when not. */
export function urlProblem(url: string, allowedHosts: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  // CRL and OCSP data are signed; TLS would add nothing but a circular dependency (RFC 5280 §4.2.1.13, RFC 6960 A.1).
  if (parsed.protocol !== 'http:') return `"${url}" is not an http URL`;
  if (parsed.username !== '' || parsed.password !== '') return `"${url}" carries credentials`;
  const host = `${parsed.hostname.toLowerCase()}:${parsed.port === '' ? '80' : parsed.port}`;
  const allowed = allowedHosts.some((entry) => (/:\d+$/.test(entry) ? entry : `${entry}:80`) === host);
  return allowed ? undefined : `host ${parsed.host} is not in REVOCATION_ALLOWED_HOSTS`;
}

/** The response body, or revocation_unknown saying why there is none. */
export async function fetchBounded(request: BoundedRequest): Promise<Uint8Array> {
  const problem = urlProblem(request.url, request.allowedHosts);
  if (problem !== undefined) throw unknown(problem);
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await fetch(request.url, {
      method: request.body === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      signal,
      headers: request.body === undefined ? {} : { 'content-type': request.body.contentType },
      ...(request.body === undefined ? {} : { body: Buffer.from(request.body.bytes) }),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      const what = response.status >= 300 && response.status < 400 ? 'redirected (not followed)' : `answered HTTP ${response.status}`;
      throw unknown(`${request.url} ${what}`);
    }
    const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (request.expectContentType !== undefined && type !== request.expectContentType) {
      await response.body?.cancel();
      throw unknown(`${request.url} answered ${type ?? 'no content type'}, not ${request.expectContentType}`);
    }
    return await readCapped(response, request);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    if (signal.aborted) throw unknown(`${request.url} did not answer within ${request.timeoutMs} ms`, err);
    throw unknown(`${request.url} is unreachable`, err);
  }
}

async function readCapped(response: Response, request: BoundedRequest): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > request.maxBytes) {
    await response.body?.cancel();
    throw unknown(`${request.url} sent ${declared} bytes, more than the ${request.maxBytes} allowed`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  for (let part = await reader?.read(); part !== undefined && !part.done; part = await reader?.read()) {
    total += part.value.length;
    if (total > request.maxBytes) {
      await reader?.cancel().catch(() => undefined);
      throw unknown(`${request.url} sent more than the ${request.maxBytes} bytes allowed`);
    }
    chunks.push(part.value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function unknown(reason: string, cause?: unknown): ServiceError {
  return new ServiceError('revocation_unknown', reason, cause === undefined ? {} : { cause });
}
