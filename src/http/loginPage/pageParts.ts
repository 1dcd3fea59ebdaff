// What the sign-in page's ways in share (browser.ts, keyToken.ts, eimzo.ts): the page's language,
// building elements without HTML strings (the CSP enforces Trusted Types), and the sign-in itself
// — a challenge, signed the way's own way, posted to the service — with its refusals.
import { defaultLocale, dictionaries, isLocale, problemWords, type Locale, type Problem } from './i18n.ts';

/** The language the page is in now (the switch sets <html lang>). */
export const pageLocale = (): Locale => (isLocale(document.documentElement.lang) ? document.documentElement.lang : defaultLocale);

export function make<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** The service did not answer at all (offline, or the connection cut). */
export class NetworkFailure extends Error {}

/** A JSON POST to this origin, never cached, never redirected. */
async function postJson(path: string, body: unknown): Promise<Response> {
  try {
    return await fetch(path, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' }, body: JSON.stringify(body),
    });
  } catch (error) {
    throw new NetworkFailure('the service cannot be reached', { cause: error });
  }
}

/** A refusal of the service's, with the words its sentence names (the refused algorithm). */
export interface ServiceRefusal {
  kind: 'service';
  problem: Problem;
  words?: Record<string, string>;
}

/** The problem+json `code` when the page has a sentence for it; else by status (a proxy's page, say, is not JSON). */
async function serviceProblem(response: Response): Promise<ServiceRefusal> {
  const { code, detail } = (await response.json().catch(() => ({}))) as { code?: unknown; detail?: unknown };
  if (typeof code === 'string' && code in dictionaries[pageLocale()].errors) return { kind: 'service', problem: code as Problem, words: problemWords(code as Problem, detail) };
  if (response.status === 429) return { kind: 'service', problem: 'rate_limited' };
  if (response.status === 404) return { kind: 'service', problem: 'not_found' };
  return { kind: 'service', problem: response.status >= 500 ? 'unavailable' : 'invalid_request' };
}

/** What a way in posts for the challenge: a CMS, or a raw signature (docs/api.md). */
export interface Signature {
  format: string;
  cms: string;
}

/**
 * A fresh challenge, signed by `sign`, posted to /login/{interactionId} (the page's <main
 * data-interaction>): the agency's address to go to, or the service's refusal. What `sign` throws
 * (its own way's failures) and NetworkFailure reach the caller.
 */
export async function signInWith(sign: (challenge: string) => Promise<Signature>): Promise<{ redirectTo: string } | ServiceRefusal> {
  const interactionId = document.getElementById('main')?.dataset.interaction ?? '';
  const challengeResponse = await postJson('/v1/challenges', {});
  if (challengeResponse.status !== 201) return serviceProblem(challengeResponse);
  const { id, challenge } = (await challengeResponse.json()) as { id?: unknown; challenge?: unknown };
  if (typeof id !== 'string' || typeof challenge !== 'string') return { kind: 'service', problem: 'internal_error' };
  const { format, cms } = await sign(challenge);
  const response = await postJson(`/login/${encodeURIComponent(interactionId)}`, { challengeId: id, format, cms });
  if (response.status !== 200) return serviceProblem(response);
  const { redirectTo } = (await response.json()) as { redirectTo?: unknown };
  if (typeof redirectTo !== 'string' || !/^https?:\/\//i.test(redirectTo)) return { kind: 'service', problem: 'internal_error' };
  return { redirectTo };
}
