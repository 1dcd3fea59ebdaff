// JSON request bodies for the API and the sign-in interaction (docs/api.md "Bodies"): at most
// 64 KiB of application/json in UTF-8, one value per key. A sign-in body that cannot be read
// is not simply refused here: the sign-in still burns the challenge id found in it and writes
// its audit row (login/request.ts UnreadableBody), so a broken body is no free retry.
import type { NextFunction, Request, Response } from 'express';
import { visit } from 'jsonc-parser';
import { ServiceError } from '../errors.ts';
import { unreadableBody } from '../login/request.ts';

const limitBytes = 64 * 1024;
// A challenge id as it stands in the text, found without parsing (the text may not parse).
const challengeIdInText = /"challengeId"\s*:\s*"([A-Za-z0-9_-]{1,128})"/;

/**
 * `onUnreadable: 'reject'` fails the request with the error; `'sign-in'` hands the route an
 * UnreadableBody carrying the error and any challenge id the bytes name.
 */
export function jsonBody(onUnreadable: 'reject' | 'sign-in') {
  return (req: Request, res: Response, next: NextFunction): void => {
    // Only bodies announced as present are read (a GET or DELETE has none), and only once.
    if (req.body !== undefined || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)) {
      next();
      return;
    }
    readLimited(req).then(({ bytes, tooLarge }) => {
      // An empty body is no body, as with body-parser.
      if (bytes.length === 0) {
        next();
        return;
      }
      const read = readJson(req, bytes, tooLarge);
      if ('value' in read) {
        req.body = read.value;
        next();
        return;
      }
      const failure = read.error;
      // The rest of an oversized body is not read: the connection closes after the answer.
      if (tooLarge) res.set('Connection', 'close');
      if (onUnreadable === 'reject') {
        next(failure);
        return;
      }
      req.body = unreadableBody(failure, challengeIdInText.exec(Buffer.from(bytes).toString('latin1'))?.[1]);
      next();
    }, next);
  };
}

function readJson(req: Request, bytes: Uint8Array, tooLarge: boolean): { value: unknown } | { error: ServiceError } {
  const error = (code: 'invalid_request' | 'payload_too_large', detail: string) => ({ error: new ServiceError(code, detail) });
  if (tooLarge) return error('payload_too_large', 'the request body is larger than 64 KiB');
  // Only application/json: a text/plain "simple request" from another site is refused.
  if (!req.is('application/json')) return error('invalid_request', 'the body must be application/json');
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  const encoding = req.headers['content-encoding'];
  if ((charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') || (encoding !== undefined && encoding !== 'identity')) {
    return error('invalid_request', 'the body encoding is not supported (UTF-8 JSON, no content encoding)');
  }
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    return error('invalid_request', 'the body is not valid JSON');
  }
  // An object or an array (body-parser's `strict`): `null` or a bare string is no request.
  if (value === null || typeof value !== 'object') return error('invalid_request', 'the body is not a JSON object');
  const duplicate = keyCount(value) === keyTokens(text) ? undefined : duplicateKey(text);
  // RFC 8259 §4: names SHOULD be unique; parsers disagree on which value wins, so neither does.
  if (duplicate !== undefined) return error('invalid_request', `the key ${JSON.stringify(duplicate.slice(0, 64))} appears twice in one object`);
  return { value };
}

// A string literal, and whether a colon follows (a member name). Matched from the start of
// valid JSON, each match consumes one whole string, so no quote inside a string starts one.
const stringToken = /"(?:[^"\\]|\\.)*"(\s*:)?/g;

/**
 * The member names written in `text` (valid JSON). JSON.parse keeps one member per name, so
 * fewer members than names means a name repeats: only then is the text walked to find it
 * (a native regex pass instead of a tokenizer in JavaScript over every sign-in's kilobytes).
 */
function keyTokens(text: string): number {
  let names = 0;
  for (const match of text.matchAll(stringToken)) if (match[1] !== undefined) names++;
  return names;
}

/** The members of every object in a parsed value (walked without recursion: 64 KiB nest deep). */
function keyCount(value: unknown): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object') continue;
    if (!Array.isArray(next)) count += Object.keys(next).length;
    for (const member of Object.values(next)) pending.push(member);
  }
  return count;
}

/** The first name repeated within one object; `text` is valid JSON already. */
function duplicateKey(text: string): string | undefined {
  const open: Array<Set<string>> = [];
  let found: string | undefined;
  visit(text, {
    onObjectBegin: () => void open.push(new Set()),
    onObjectEnd: () => void open.pop(),
    onObjectProperty: (name) => {
      const keys = open.at(-1);
      if (keys?.has(name)) found ??= name;
      keys?.add(name);
    },
  });
  return found;
}

/** At most limitBytes + 1 bytes: enough to know the body is too large and to look into its start. */
function readLimited(req: Request): Promise<{ bytes: Uint8Array; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (tooLarge: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      const bytes = Buffer.concat(chunks);
      resolve({ bytes: tooLarge ? bytes.subarray(0, limitBytes) : bytes, tooLarge });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length > limitBytes) {
        req.pause();
        done(true);
      }
    };
    const onEnd = () => done(false);
    const onError = (error: unknown) => reject(error);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
