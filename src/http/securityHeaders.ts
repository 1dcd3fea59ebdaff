// helmet's response headers, worked out once at start: helmet runs a dozen small middlewares
// per request that set the same fixed values each time, which cost a sign-in more than its
// revocation lookup (issue 12). helmet stays the source of what is set; this only replays it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

export function securityHeaders(options: HelmetOptions): RequestHandler {
  const set: Array<[string, string]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void set.push([name, String(value)]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error !== undefined) throw error;
    finished = true;
  });
  // Every part of helmet is synchronous and reads nothing of the request; should that change,
  // fail at start rather than answer without the headers.
  if (!finished) throw new Error('helmet did not finish synchronously: its headers cannot be computed once');
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}
