// CRLs are read off the event loop (issue 11, docs/operations.md "CRLs off the event loop"): a
// national CA's list of 100 000 entries takes seconds to parse and, signed with O'zDSt, over a
// second more to hash, during which no request of the instance would be answered. Each read
// runs in a worker thread of its own (crlWorker.ts) — download or decode, parse, the signature
// check with the issuer's key — and comes back as plain data whose entries are looked up in
// place (src/pki/x509/crlTransfer.ts). The download keeps its CRL_TIMEOUT_MS deadline and the
// parse gets as long again, then the thread is ended: a list that cannot be read in time is
// revocation_unknown, as one that cannot be downloaded (docs/errors.md), and the fail mode decides.
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { type ErrorCode, ServiceError } from '../errors.ts';
import type { ParsedCrl } from '../pki/x509/crl.ts';
import { type PackedCrl, unpackCrl } from '../pki/x509/crlTransfer.ts';
import type { BoundedRequest } from './fetchBounded.ts';

export type AlgorithmSettings = Pick<Config, 'signatureAlgorithms' | 'signaturePlugins'>;

export interface CrlJob {
  /** A URL to download, or the DER of a copy shared through the store (transferred to the thread). */
  source: BoundedRequest | { der: Uint8Array };
  /** The key the CRL must be signed with (its issuer's); the answer is in signatureChecks. */
  signerSpki: Uint8Array;
  algorithms: AlgorithmSettings;
  /** A refresh no request waits for: it yields the CPU to requests. */
  background: boolean;
}

/** Where and when a CRL was parsed: in which thread, from and to when (epoch milliseconds). */
export interface CrlReadReport {
  threadId: number;
  entries: number;
  bytes: number;
  startedAt: number;
  endedAt: number;
}

export type CrlJobResult =
  | { ok: true; crl: PackedCrl; report: CrlReadReport }
  | { ok: false; code: ErrorCode; message: string };

export interface CrlReaderOptions {
  allowedHosts: readonly string[];
  timeoutMs: number;
  maxBytes: number;
  algorithms: AlgorithmSettings;
  /** Told of every CRL read (the bench and the tests: which thread, how long). */
  onRead?: (report: CrlReadReport & { source: string }) => void;
}

export interface CrlReader {
  /** Downloads and reads the CRL at `url`; `background` when no request waits for it. */
  fromUrl(url: string, signerSpki: Uint8Array, background: boolean): Promise<ParsedCrl>;
  /** Reads a copy shared through the store (`der` is handed over: unusable here afterwards; `label` names it in messages). */
  fromShared(der: Uint8Array, signerSpki: Uint8Array, label: string): Promise<ParsedCrl>;
}

/**
 * In dist/ the worker is the entry point scripts/build.ts builds beside the bundle. Under tsx
 * (development, tests) it is the TypeScript source beside this file, and as Node 20 gives a
 * worker thread none of the process's module hooks, the thread registers tsx before importing it.
 */
function startWorker(job: CrlJob): Worker {
  const options = { workerData: job, transferList: 'der' in job.source ? [job.source.der.buffer as ArrayBuffer] : [] };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./crlWorker.js', import.meta.url), options);
  const [tsx, source] = [import.meta.resolve('tsx/esm/api'), new URL('./crlWorker.ts', import.meta.url).href].map((url) => JSON.stringify(url));
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${source}); });`, { ...options, eval: true });
}

export function createCrlReader(options: CrlReaderOptions): CrlReader {
  function read(source: CrlJob['source'], signerSpki: Uint8Array, label: string, background = false): Promise<ParsedCrl> {
    return new Promise<ParsedCrl>((resolve, reject) => {
      const worker = startWorker({ source, signerSpki, algorithms: options.algorithms, background });
      let deadline: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        outcome();
        void worker.terminate();
      };
      const startDeadline = () => {
        deadline = setTimeout(() => settle(() => reject(unknown(`${label} could not be read within ${options.timeoutMs} ms`))), options.timeoutMs);
      };
      // A download has its deadline inside the thread (fetchBounded); the parse's starts when the bytes are in hand.
      worker.on('message', (result: CrlJobResult | 'parsing') => (result === 'parsing' ? startDeadline() : settle(() => {
        if (!result.ok) {
          reject(new ServiceError(result.code, result.message));
          return;
        }
        options.onRead?.({ ...result.report, source: label });
        resolve(unpackCrl(result.crl));
      })));
      worker.once('error', (error) => settle(() => reject(error)));
      worker.once('exit', (code) => settle(() => reject(unknown(`the thread reading ${label} stopped (exit code ${code})`))));
    });
  }

  return {
    fromUrl: (url, signerSpki, background) => read(
      { url, allowedHosts: options.allowedHosts, timeoutMs: options.timeoutMs, maxBytes: options.maxBytes }, signerSpki, url, background),
    fromShared: (der, signerSpki, label) => read({ der }, signerSpki, label),
  };
}

function unknown(reason: string): ServiceError {
  return new ServiceError('revocation_unknown', reason);
}
