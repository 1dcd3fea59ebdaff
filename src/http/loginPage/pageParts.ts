// What the sign-in page's ways in share (keyToken.ts, eimzo.ts): building elements without HTML
// strings (the CSP enforces Trusted Types), posting to the service, and reading its refusals.
import { dictionaries, problemWords, type Locale, type Problem } from './i18n.ts';

export function make<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** A JSON POST to this origin, never cached, never redirected. */
export function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(path, {
    method: 'POST', credentials: 'same-origin', cache: 'no-store', redirect: 'error',
    headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' }, body: JSON.stringify(body),
  });
}

/** A refusal of the service's, with the words its sentence names (the refused algorithm). */
export interface ServiceRefusal {
  kind: 'service';
  problem: Problem;
  words?: Record<string, string>;
}

/** The problem+json `code` when the page has a sentence for it; else by status. */
export async function serviceProblem(response: Response, locale: Locale): Promise<ServiceRefusal> {
  const { code, detail } = (await response.json().catch(() => ({}))) as { code?: unknown; detail?: unknown };
  if (typeof code === 'string' && code in dictionaries[locale].errors) return { kind: 'service', problem: code as Problem, words: problemWords(code as Problem, detail) };
  return { kind: 'service', problem: response.status === 404 ? 'not_found' : response.status >= 500 ? 'unavailable' : 'invalid_request' };
}
