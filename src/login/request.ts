// The two sign-in bodies of docs/api.md (Direct API). Shape errors are `invalid_request`; bytes
// that are not strict base64 are `malformed_signature` (docs/errors.md: "base64 that is not strict").
import { z } from 'zod';
import { ServiceError } from '../errors.ts';
import { isSerializedOrigin } from './originBinding.ts';

export const rawAlgorithms = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;
export type RawAlgorithm = (typeof rawAlgorithms)[number];

export type SignInRequest =
  | { challengeId: string; format: 'cms'; cms: Uint8Array }
  | { challengeId: string; format: 'raw'; certificates: Uint8Array[]; algorithm: RawAlgorithm; signature: Uint8Array };

const base64Text = z.string().min(1).max(65536);
const challengeId = z.string().min(1).max(128);

// The signing agent answers {format, cms, origin} (agent/server.ts), and that answer is posted
// as it is. `origin` is informative only and never read after this check: the origin that
// counts is the one inside the signed content, held against ISSUER_URL (origin.ts), so an
// unsigned copy beside it can neither pass nor fail a sign-in. Accepted here rather than dropped
// from the answer because agents on citizens' computers are updated long after the service.
// 300 characters hold any serialized origin: scheme, a 253-octet host (RFC 1035 §2.3.4), port.
const agentOrigin = z.string().max(300).refine(isSerializedOrigin, 'not a serialized origin (RFC 6454 §6.1)');

// Strict objects: unknown keys (also `__proto__`) are refused rather than ignored.
const cmsBody = z.strictObject({ challengeId, format: z.literal('cms'), cms: base64Text, origin: agentOrigin.optional() });
const rawBody = z.strictObject({
  challengeId,
  format: z.literal('raw'),
  certificates: z.array(base64Text).min(1).max(8),
  algorithm: z.string().min(1).max(32),
  signature: base64Text,
});
const body = z.discriminatedUnion('format', [cmsBody, rawBody]);
const withChallengeId = z.object({ challengeId });

const unreadable = Symbol('unreadable body');

/**
 * A body the transport could not read (too large, not JSON, a duplicate key, another charset):
 * the sign-in still consumes the challenge id found in its bytes, then fails with `error`.
 * A symbol key, so no JSON body can pose as one.
 */
export interface UnreadableBody {
  readonly [unreadable]: ServiceError;
  readonly challengeId: string | undefined;
}

export function unreadableBody(error: ServiceError, challengeId: string | undefined): UnreadableBody {
  return { [unreadable]: error, challengeId };
}

const isUnreadable = (input: unknown): input is UnreadableBody => typeof input === 'object' && input !== null && unreadable in input;

/** What the transport found wrong with a body it could not read; undefined for a readable one. */
export function transportError(input: unknown): ServiceError | undefined {
  return isUnreadable(input) ? input[unreadable] : undefined;
}

/** The challenge id alone, read before anything else so that even a bad body consumes it. */
export function readChallengeId(input: unknown): string {
  if (isUnreadable(input)) {
    if (input.challengeId === undefined) throw input[unreadable];
    return input.challengeId;
  }
  const parsed = withChallengeId.safeParse(input);
  if (!parsed.success) throw new ServiceError('invalid_request', 'challengeId is required');
  return parsed.data.challengeId;
}

export function parseSignInRequest(input: unknown): SignInRequest {
  if (isUnreadable(input)) throw input[unreadable];
  const parsed = body.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ServiceError('invalid_request', `body does not match the sign-in shape${issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : ''}`);
  }
  const value = parsed.data;
  if (value.format === 'cms') return { challengeId: value.challengeId, format: 'cms', cms: decodeBase64(value.cms, 'cms') };
  if (!(rawAlgorithms as readonly string[]).includes(value.algorithm)) {
    throw new ServiceError('unsupported_algorithm', `algorithm ${JSON.stringify(value.algorithm)} is not one of ${rawAlgorithms.join(', ')}`);
  }
  return {
    challengeId: value.challengeId,
    format: 'raw',
    certificates: value.certificates.map((text, i) => decodeBase64(text, `certificates[${i}]`)),
    algorithm: value.algorithm as RawAlgorithm,
    signature: decodeBase64(value.signature, 'signature'),
  };
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Exactly one accepted encoding: standard base64 with padding, no whitespace or PEM armour. */
export function decodeBase64(text: string, field: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  // Node's decoder skips what is not base64; only a text that is exactly what it re-encodes
  // to is standard, padded, canonical base64 (no URL alphabet, whitespace or stray bits).
  // The pattern only names the failure: a sign-in body is kilobytes and this runs per request.
  if (bytes.toString('base64') !== text) {
    throw new ServiceError('malformed_signature', base64Pattern.test(text) ? `${field} is not canonical base64` : `${field} is not base64`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
