// The operator command line: dev-pki and sign-in through the very program `npm run admin` runs
// (in process, its own environment, no terminal), then what only the process shows — its exit
// status and its one line on stderr. `sign-in` talks to a stand-in service that checks the CMS
// with `openssl cms -verify` against the dev root — except the O'zDSt citizen's: OpenSSL knows
// no O'zDSt OIDs, so that signature is checked by the verifier (proven on the gost engine's own
// signatures in test/pki/algorithms/gost).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertOneLineFailure, runAdmin, runAdminProcess } from '../helpers/admin.ts';
import { openCms } from '../../src/pki/signin/cms.ts';

const admin = (...args: string[]) => runAdmin(args);

interface Citizen {
  name: string;
  file: string;
  password: string;
}

describe('admin CLI', () => {
  let dir: string;
  let pkiDir: string;
  let citizens: Citizen[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'yagona-admin-'));
    pkiDir = join(dir, 'dev');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('dev-pki', () => {
    it('creates the PKI and prints one JSON document with the passwords', async () => {
      const run = await admin('dev-pki', '--dir', pkiDir, '--json');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      const result = JSON.parse(run.stdout) as { created: boolean; rootCaFile: string; citizens: Citizen[] };
      assert.equal(result.created, true);
      assert.equal(result.rootCaFile, join(pkiDir, 'trust', 'root-ca.pem'));
      assert.equal(result.citizens.length, 4);
      for (const citizen of result.citizens) assert.match(citizen.password, /^\S{23}$/);
      citizens = result.citizens;
    });

    it('leaves a complete PKI alone', async () => {
      const anchor = readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8');
      const run = await admin('dev-pki', '--dir', pkiDir, '--json');
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { created: boolean; citizens: Array<Record<string, unknown>> };
      assert.equal(result.created, false);
      assert.ok(result.citizens.every((citizen) => citizen.password === undefined));
      assert.equal(readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8'), anchor);

      const text = await admin('dev-pki', '--dir', pkiDir);
      assert.equal(text.code, 0);
      assert.match(text.stdout, /complete; nothing changed/);
    });

    it('refuses --force without a terminal unless --yes answers', async () => {
      const anchor = readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8');
      assertOneLineFailure(await admin('dev-pki', '--dir', pkiDir, '--force', '--json'), /^error: .*pass --yes/);
      assert.equal(readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8'), anchor);

      const forced = await admin('dev-pki', '--dir', pkiDir, '--force', '--yes', '--json');
      assert.equal(forced.code, 0, forced.stderr);
      const result = JSON.parse(forced.stdout) as { created: boolean; citizens: Citizen[] };
      assert.equal(result.created, true);
      assert.notEqual(readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8'), anchor);
      citizens = result.citizens;
    });

    it('on a terminal, --force asks first and anything but yes changes nothing', async () => {
      const anchor = readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8');
      const declined = await runAdmin(['dev-pki', '--dir', pkiDir, '--force'], {}, { answer: 'n' });
      assert.deepEqual(declined.questions, [`Replace the development PKI in ${pkiDir}? Its CAs and key files will be replaced. [y/N] `]);
      assertOneLineFailure(declined, /^error: cancelled: nothing was changed$/);
      assert.equal(readFileSync(join(pkiDir, 'trust', 'root-ca.pem'), 'utf8'), anchor);
    });
  });

  describe('sign-in', () => {
    let server: Server;
    let url: string;
    let mode: 'accept' | 'revoked' = 'accept';
    const seen: Array<{ method: string; path: string; body: string; authorization?: string }> = [];

    const challenge = 'yagona-id test challenge for http://127.0.0.1 nonce 2b7e151628aed2a6abf7158809cf4f3c';
    const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
    };
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      seen.push({ method: req.method ?? '', path: req.url ?? '', body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
      if (req.method === 'POST' && req.url === '/v1/challenges') {
        send(res, 201, { id: 'ch-1', challenge, expiresAt: '2030-01-01T00:00:00.000Z' });
      } else if (req.method === 'POST' && req.url === '/v1/sessions') {
        if (mode === 'revoked') {
          send(res, 403, { type: 'urn:yagona-id:error:certificate_revoked', title: 'Certificate revoked', status: 403,
            detail: 'the certificate was revoked (keyCompromise)', code: 'certificate_revoked' }, 'application/problem+json');
          return;
        }
        const { challengeId, format, cms } = JSON.parse(body) as { challengeId: string; format: string; cms: string };
        const cmsFile = join(dir, 'received.cms');
        const contentFile = join(dir, 'challenge.txt');
        writeFileSync(cmsFile, Buffer.from(cms, 'base64'));
        writeFileSync(contentFile, challenge);
        const signed = openCms(Buffer.from(cms, 'base64'), Buffer.from(challenge));
        // Detached, over exactly the challenge's bytes, chaining to the dev root with the CMS's own certificates.
        if (!signed.signatureAlgorithm.startsWith('1.2.860.')) execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', cmsFile, '-content', contentFile,
          '-CAfile', join(pkiDir, 'trust', 'root-ca.pem'), '-purpose', 'any', '-out', '/dev/null'], { stdio: 'pipe' });
        assert.equal(challengeId, 'ch-1');
        assert.equal(format, 'cms');
        send(res, 201, { accessToken: 'token-1', tokenType: 'Bearer', expiresIn: 600, sessionId: 'sid-1',
          subject: { sub: 'sub-1', commonName: 'KARIMOVA DILNOZA RUSTAMOVNA', pinfl: '41503900270018' } });
      } else if (req.method === 'GET' && req.url === '/v1/sessions/current' && req.headers.authorization === 'Bearer token-1') {
        send(res, 200, { sessionId: 'sid-1', subject: { sub: 'sub-1', commonName: 'KARIMOVA DILNOZA RUSTAMOVNA', pinfl: '41503900270018',
          certificate: { serialNumber: 'AB', issuer: 'CN=Yagona Dev Citizen CA', subject: 'CN=KARIMOVA DILNOZA RUSTAMOVNA' } },
          expiresAt: '2030-01-01T00:10:00.000Z', amr: ['x509'], acr: 'high' });
      } else {
        send(res, 401, { code: 'session_invalid', detail: 'no session' }, 'application/problem+json');
      }
    };

    before(async () => {
      server = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => send(res, 500, { code: 'internal_error', detail: String(error) }, 'application/problem+json'));
      });
      server.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('signs the challenge as detached CMS and prints the session as one JSON document', async () => {
      const citizen = citizens[0]!;
      seen.length = 0;
      const run = await admin('sign-in', '--p12', citizen.file, '--password', citizen.password, '--url', url, '--json');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      const result = JSON.parse(run.stdout) as { url: string; created: { accessToken: string }; current: { sessionId: string } };
      assert.equal(result.url, url);
      assert.equal(result.created.accessToken, 'token-1');
      assert.equal(result.current.sessionId, 'sid-1');
      assert.deepEqual(seen.map((r) => `${r.method} ${r.path}`), ['POST /v1/challenges', 'POST /v1/sessions', 'GET /v1/sessions/current']);
      assert.equal(seen[2]?.authorization, 'Bearer token-1');
    });

    it('signs with every demo key type and prints a readable session', async () => {
      for (const citizen of citizens) {
        const run = await admin('sign-in', '--p12', citizen.file, '--password', citizen.password, '--url', url);
        assert.equal(run.code, 0, `${citizen.name}: ${run.stderr}`);
        assert.match(run.stdout, /^Signed in to http:\/\/127\.0\.0\.1:\d+\n/);
        assert.match(run.stdout, /PINFL: +41503900270018/);
        assert.match(run.stdout, /token-1/);
      }
    });

    it('prints `code: detail` of a problem+json answer on one line and exits 1', async () => {
      mode = 'revoked';
      try {
        const citizen = citizens[1]!;
        const run = await admin('sign-in', '--p12', citizen.file, '--password', citizen.password, '--url', url, '--json');
        assertOneLineFailure(run, /^certificate_revoked: the certificate was revoked \(keyCompromise\)$/);
      } finally {
        mode = 'accept';
      }
    });

    it('names a missing key file, a wrong password, an unreachable service and a missing option', async () => {
      const citizen = citizens[0]!;
      assertOneLineFailure(await admin('sign-in', '--p12', join(dir, 'missing.p12'), '--password', 'x', '--url', url),
        /^error: cannot read key file .*missing\.p12: no such file$/);
      assertOneLineFailure(await admin('sign-in', '--p12', citizen.file, '--password', 'wrong', '--url', url, '--json'),
        /^invalid_request: wrong password or damaged key file$/);
      assertOneLineFailure(await admin('sign-in', '--p12', citizen.file, '--password', citizen.password, '--url', 'http://127.0.0.1:1'),
        /^error: cannot reach http:\/\/127\.0\.0\.1:1\/v1\/challenges: /);
      assertOneLineFailure(await admin('sign-in', '--p12', citizen.file), /^error: required option '--password <password>' not specified$/, 2);
      assertOneLineFailure(await admin('no-such-command'), /^error: unknown command 'no-such-command'$/, 2);
    });

    it('as its own process: a failed command exits 1 with one line, a usage error 2 with commander\'s line', async () => {
      const citizen = citizens[0]!;
      // Both at once: each spends its time loading TypeScript, not waiting on the other. (Exit 0
      // with one JSON document as a process: test/e2e/firstStart.test.ts.)
      const [wrongPassword, usage] = await Promise.all([
        runAdminProcess(['sign-in', '--p12', citizen.file, '--password', 'wrong', '--url', url]),
        runAdminProcess(['no-such-command']),
      ]);
      assertOneLineFailure(wrongPassword, /^invalid_request: wrong password or damaged key file$/);
      assertOneLineFailure(usage, /^error: unknown command 'no-such-command'$/, 2);
    });
  });
});
