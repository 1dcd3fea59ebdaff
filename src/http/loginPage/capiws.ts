// E-IMZO's local protocol (CAPIWS) as its own browser client speaks it (e-imzo.js and
// e-imzo-client.js, published by its makers): the desktop module listens on the loopback,
// `ws://127.0.0.1:64646/service/cryptapi` for http pages and `wss://127.0.0.1:64443/…` for
// https ones; each call opens its own socket, sends one JSON request, reads one JSON answer and
// closes (the module answers nothing else on that socket and tells requests apart by nothing but
// the socket). Answers carry `success` and, when false, a `reason` in the module's own words.
// The module trusts a page only after `apikey` registered a key for the page's domain.

/** The module's two endpoints; the sign-in page's CSP allows exactly these (template.ts). */
export const eimzoOrigins = { http: 'ws://127.0.0.1:64646', https: 'wss://127.0.0.1:64443' } as const;
export const eimzoPath = '/service/cryptapi';

export type CapiwsRequest =
  | { name: 'version' }
  | { name: 'apikey'; arguments: string[] }
  | { plugin: string; name: string; arguments?: string[] };

export interface CapiwsAnswer {
  success?: unknown;
  reason?: unknown;
  [field: string]: unknown;
}

/** Nothing answers on the loopback endpoint: the module is not running (or not installed). */
export class ModuleUnreachable extends Error {}

/** The endpoint for a page served over `protocol` (location.protocol). */
export function capiwsUrl(protocol: string): string {
  return `${protocol.toLowerCase() === 'https:' ? eimzoOrigins.https : eimzoOrigins.http}${eimzoPath}`;
}

/**
 * One request on its own socket and the one answer. `timeoutMs` only for calls that open no
 * window of the module's (a password window waits for the citizen as long as it takes).
 */
export function callCapiws(request: CapiwsRequest, options: { protocol: string; timeoutMs?: number }): Promise<CapiwsAnswer> {
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(capiwsUrl(options.protocol));
    } catch (error) {
      reject(new ModuleUnreachable('the E-IMZO endpoint cannot be opened', { cause: error }));
      return;
    }
    let settled = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => settle(() => reject(new ModuleUnreachable('E-IMZO did not answer'))), options.timeoutMs);
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      done();
    };
    socket.onopen = () => socket.send(JSON.stringify(request));
    socket.onmessage = (event) => settle(() => {
      try {
        const answer = JSON.parse(String(event.data)) as unknown;
        if (typeof answer === 'object' && answer !== null && !Array.isArray(answer)) resolve(answer as CapiwsAnswer);
        else reject(new ModuleUnreachable('E-IMZO answered something other than a JSON object'));
      } catch (error) {
        reject(new ModuleUnreachable('E-IMZO answered something other than JSON', { cause: error }));
      }
    });
    // A refused connection fires error then close; either way nothing answered.
    socket.onerror = () => settle(() => reject(new ModuleUnreachable('no E-IMZO on the loopback')));
    socket.onclose = () => settle(() => reject(new ModuleUnreachable('E-IMZO closed the socket without answering')));
  });
}

/** The answer's `reason`, as text, when it reports a failure; undefined on success. */
export function failureReason(answer: CapiwsAnswer): string | undefined {
  if (answer.success === true) return undefined;
  return typeof answer.reason === 'string' && answer.reason !== '' ? answer.reason : 'E-IMZO gave no reason';
}
