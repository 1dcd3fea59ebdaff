// A real OCSP responder for tests: `openssl ocsp` serving an index file (openssl ca(1)'s
// database format) on a free loopback port, signing with the given responder key. The test
// starts it, waits until it says it is listening, and stops it afterwards. (A bare TCP probe
// would wedge it: `openssl ocsp` serves one connection at a time and waits on a silent one.)
import { type ChildProcess, spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toPem } from '../../src/pki/issue/issue.ts';
import { freePort } from './ports.ts';

export interface ResponderCertificate {
  certDer: Uint8Array;
  privateKey: KeyObject;
}

export interface IndexEntry {
  /** Hex as `openssl x509 -serial` prints it. */
  serialHex: string;
  status: 'good' | 'revoked';
  /** openssl reason name (keyCompromise, CACompromise, superseded, …). */
  reason?: string;
}

export interface OcspResponderOptions {
  /** The CA whose certificates the responder answers for (`-CA`). */
  ca: { certDer: Uint8Array };
  /** Signs the responses (`-rsigner`/`-rkey`): the CA itself, a delegate, or anyone for negative tests. */
  signer: ResponderCertificate;
  /** Certificates the CA issued and their status; any other serial gets "unknown". */
  entries: readonly IndexEntry[];
  /** nextUpdate = thisUpdate + this many minutes (`-nmin`); absent: no nextUpdate. */
  nextUpdateMinutes?: number;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** ResponderID byKey (`-resp_key_id`) instead of byName. */
  keyId?: boolean;
}

export interface OcspResponder {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const evenHex = (hex: string): string => (hex.length % 2 === 1 ? `0${hex}` : hex).toUpperCase();

export async function startOcspResponder(options: OcspResponderOptions): Promise<OcspResponder> {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-ocsp-'));
  writeFileSync(join(dir, 'ca.pem'), toPem(options.ca.certDer, 'CERTIFICATE'));
  writeFileSync(join(dir, 'signer.pem'), toPem(options.signer.certDer, 'CERTIFICATE'));
  writeFileSync(join(dir, 'signer.key'), options.signer.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  // index.txt: status, expiry, revocation date[,reason], serial, file, subject (openssl ca(1) "database").
  const lines = options.entries.map((e, i) => (e.status === 'good'
    ? `V\t491231235959Z\t\t${evenHex(e.serialHex)}\tunknown\t/CN=Certificate ${i}\n`
    : `R\t491231235959Z\t250101000000Z${e.reason === undefined ? '' : `,${e.reason}`}\t${evenHex(e.serialHex)}\tunknown\t/CN=Certificate ${i}\n`));
  writeFileSync(join(dir, 'index.txt'), lines.join(''));
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  const port = options.port ?? await freePort();
  const args = [
    'ocsp', '-index', join(dir, 'index.txt'), '-port', String(port), '-CA', join(dir, 'ca.pem'),
    '-rsigner', join(dir, 'signer.pem'), '-rkey', join(dir, 'signer.key'), '-ignore_err',
    ...(options.nextUpdateMinutes === undefined ? [] : ['-nmin', String(options.nextUpdateMinutes)]),
    ...(options.keyId === true ? ['-resp_key_id'] : []),
  ];
  const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await listening(child, port);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// OpenSSL 3 prints "ACCEPT [::]:port" and "waiting for OCSP client connections..." once bound.
function listening(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`openssl ocsp did not listen on port ${port} within 10 s: ${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (/waiting for OCSP client connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openssl ocsp exited (${code}): ${output}`));
    });
  });
}
