// Origin-bound sign-in content (docs/security-cases.md §0 item 3, §E 77): what a key token signs is not
// the bare challenge but the challenge framed with the web origin that asked for it, so a
// look-alike site that relays our challenge gets a signature naming itself, which we refuse.
// Web eID signs hash(origin)‖hash(nonce) for the same reason; a text frame keeps the
// signed bytes readable and is as unambiguous, because a serialized origin never holds a
// line break:
//
//   Yagona ID origin-bound sign-in v1\n
//   origin: https://id.example.uz\n
//   <the challenge text, byte for byte>
//
// The first line differs from a challenge's ("Yagona ID sign-in"), so a framed signature can
// never pass as a plain one, nor the other way round. Shared by the agent, the admin CLI and
// the service; browser-safe (no Buffer, no node: imports).

export const originBoundHeader = 'Yagona ID origin-bound sign-in v1';

// Where the signing agent (agent/) listens: fixed, so the sign-in page finds it without asking
// the citizen, and its CSP can name exactly this one loopback origin.
export const defaultAgentPort = 47447;
export const agentOrigin = `http://127.0.0.1:${defaultAgentPort}`;
const prefix = new TextEncoder().encode(`${originBoundHeader}\norigin: `);
const newline = 0x0a;

/** The serialized origin (RFC 6454 §6.1) of a URL; throws for URLs without one (file:, data:, opaque). */
export function originOf(url: string): string {
  const origin = new URL(url).origin;
  if (origin === 'null') throw new TypeError(`${url} has no origin`);
  return origin;
}

/** True for exactly the serialization a browser sends in `Origin` (no path, no trailing slash, lower-case host). */
export function isSerializedOrigin(text: string): boolean {
  try {
    return originOf(text) === text;
  } catch {
    return false;
  }
}

/** The text a key token signs for `challenge` requested by `origin`. */
export function bindToOrigin(origin: string, challenge: string): string {
  if (!isSerializedOrigin(origin)) throw new TypeError(`not a serialized origin: ${JSON.stringify(origin)}`);
  return `${originBoundHeader}\norigin: ${origin}\n${challenge}`;
}

/** Splits framed content into origin and challenge bytes; undefined when it is not framed at all. */
export function readOriginBound(content: Uint8Array): { origin: string; challenge: Uint8Array } | undefined {
  if (content.length < prefix.length || !prefix.every((byte, i) => content[i] === byte)) return undefined;
  const end = content.indexOf(newline, prefix.length);
  if (end < 0) return undefined;
  let origin: string;
  try {
    origin = new TextDecoder('utf-8', { fatal: true }).decode(content.subarray(prefix.length, end));
  } catch {
    return undefined;
  }
  return { origin, challenge: content.subarray(end + 1) };
}
