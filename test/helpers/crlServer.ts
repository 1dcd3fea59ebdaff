// CRLs for the revocation tests and the CRL import, made by `openssl ca -gencrl` (an encoder
// independent of ours, with chosen thisUpdate/nextUpdate, up to realistic sizes), and a
// node:http server on a loopback port that serves them and counts what it is asked, so a test
// can prove a request was or was not made.
import { execFileSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toPem } from '../../src/pki/issue/issue.ts';

export interface CrlSigner {
  /** The certificate whose subject names the CRL issuer. */
  certDer: Uint8Array;
  /** The key that signs: the issuer's own, or another for a forged CRL. */
  privateKey: KeyObject;
}

export interface MakeCrlOptions {
  revoked?: ReadonlyArray<{ serialHex: string; reason?: string }>;
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** cRLNumber (default 1). */
  crlNumber?: number;
  /** The encoding of the result (default DER). */
  format?: 'der' | 'pem';
}

const evenHex = (hex: string): string => (hex.length % 2 === 1 ? `0${hex}` : hex).toUpperCase();
// openssl's -crl_lastupdate/-crl_nextupdate take YYYYMMDDHHMMSSZ.
const opensslTime = (date: Date): string => `${date.toISOString().replace(/\.\d{3}Z$/, '').replace(/[-:T]/g, '')}Z`;

/** A DER CRL (v2, cRLNumber and authorityKeyIdentifier) signed by `signer`; default validity now → +1 day. */
export function makeCrl(signer: CrlSigner, options: MakeCrlOptions = {}): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'yagona-crl-'));
  try {
    const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 60_000);
    const nextUpdate = options.nextUpdate ?? new Date(thisUpdate.getTime() + 86_400_000);
    writeFileSync(join(dir, 'ca.pem'), toPem(signer.certDer, 'CERTIFICATE'));
    writeFileSync(join(dir, 'ca.key'), signer.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const lines = (options.revoked ?? []).map((entry, i) =>
      `R\t491231235959Z\t250101000000Z${entry.reason === undefined ? '' : `,${entry.reason}`}\t${evenHex(entry.serialHex)}\tunknown\t/CN=Revoked ${i}\n`);
    writeFileSync(join(dir, 'index.txt'), lines.join(''));
    writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
    writeFileSync(join(dir, 'crlnumber'), `${evenHex((options.crlNumber ?? 1).toString(16))}\n`);
    writeFileSync(join(dir, 'openssl.cnf'), [
      '[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'crlnumber = $dir/crlnumber',
      'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'default_md = sha256', 'crl_extensions = ext',
      '[ext]', 'authorityKeyIdentifier = keyid:always', '',
    ].join('\n'));
    execFileSync('openssl', [
      'ca', '-batch', '-gencrl', '-config', join(dir, 'openssl.cnf'), '-out', join(dir, 'crl.pem'),
      '-crl_lastupdate', opensslTime(thisUpdate), '-crl_nextupdate', opensslTime(nextUpdate),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (options.format === 'pem') return new Uint8Array(readFileSync(join(dir, 'crl.pem')));
    execFileSync('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-outform', 'DER', '-out', join(dir, 'crl.der')]);
    return new Uint8Array(readFileSync(join(dir, 'crl.der')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Route =
  | { body: Uint8Array | string; contentType?: string; status?: number }
  | { redirectTo: string }
  /** Accepts the request and never answers (a responder that hangs). */
  | { hang: true };

export interface TestHttpServer {
  port: number;
  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string;
  route(path: string, route: Route): void;
  /** Requests received for `path` (any Host header). */
  hits(path: string): number;
  /** Every request received. */
  totalHits(): number;
  stop(): Promise<void>;
}

export async function startTestHttpServer(): Promise<TestHttpServer> {
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  let total = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    total += 1;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    req.resume();
    const route = routes.get(path);
    if (route === undefined) {
      res.writeHead(404).end();
    } else if ('hang' in route) {
      // Never answered; closed when the server stops.
    } else if ('redirectTo' in route) {
      res.writeHead(302, { location: route.redirectTo }).end();
    } else {
      res.writeHead(route.status ?? 200, { 'content-type': route.contentType ?? 'application/pkix-crl' }).end(route.body);
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    route: (path, route) => { routes.set(path, route); },
    hits: (path) => hits.get(path) ?? 0,
    totalHits: () => total,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
