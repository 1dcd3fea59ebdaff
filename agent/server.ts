// The signing agent: a small HTTP service on the loopback interface through which the sign-in
// page reaches the citizen's key token (as the E-IMZO agent and Web eID's native app do).
//
// Who may use it: only browsers on the origins it trusts (the service's ISSUER_URL by default).
// Every request — not only the CORS preflight — is refused unless its Origin is trusted, since
// CORS only hides answers and would let a foreign page's "simple" request act; and unless its
// Host names the loopback, so a DNS-rebound site cannot pass as same-origin. Signing requires
// a JSON body, which a browser cannot send cross-origin without the preflight we answer.
// Private Network Access (WICG): the preflight to loopback carries
// Access-Control-Request-Private-Network, answered `true` for trusted origins only.
//
// What it signs: never the bare challenge, but the challenge framed with the Origin the browser
// sent (src/login/originBinding.ts), so a look-alike site that relays a challenge gets a
// signature naming itself, which the service refuses.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bindToOrigin } from '../src/login/originBinding.ts';
import { agentVersion } from '../src/token/agentRelease.ts';
import { TokenError, type TokenCertificate, type TokenErrorCode, type TokenModule } from '../src/token/pkcs11.ts';

export interface AgentOptions {
  /** A TokenModule for a configured module path; undefined when none is configured. */
  module: TokenModule | undefined;
  /** Serialized origins (scheme://host[:port]) allowed to use the agent. */
  origins: readonly string[];
  port: number;
  host?: string;
  log?: (line: string) => void;
}

export interface Agent {
  server: Server;
  /** http://127.0.0.1:PORT once listening. */
  url: string;
  close(): Promise<void>;
}

type AgentErrorCode = TokenErrorCode | 'busy' | 'origin_forbidden' | 'host_forbidden' | 'invalid_request' | 'not_found' | 'payload_too_large';

const statusOf: Record<AgentErrorCode, number> = {
  no_module: 503,
  no_token: 404,
  token_removed: 404,
  certificate_not_found: 404,
  pin_incorrect: 403,
  pin_locked: 423,
  unsupported_key: 422,
  token_error: 502,
  busy: 409,
  origin_forbidden: 403,
  host_forbidden: 403,
  invalid_request: 400,
  not_found: 404,
  payload_too_large: 413,
};

class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: AgentErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

// A sign-in body is a certificate id, a PIN and a challenge of a few hundred bytes.
const maxBodyBytes = 16 * 1024;
const maxChallengeLength = 2048;
// A slow client must not hold the token: the body has this long to arrive.
const bodyTimeoutMs = 10_000;
// The challenges the service issues (src/login/challenges.ts) begin so; the agent signs sign-in
// challenges only, never arbitrary text a page offers.
const challengeStart = 'Yagona ID sign-in\n';

export function startAgent(options: AgentOptions): Promise<Agent> {
  const origins = new Set(options.origins);
  const log = options.log ?? (() => {});
  // One token operation at a time: a PKCS#11 module is initialised per operation (token.ts),
  // and a second sign request while one is pending is the page's mistake or someone else's.
  let pending = false;
  let port = options.port;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`agent: unexpected error: ${(error as Error).message}`);
      if (!res.headersSent) send(res, undefined, 500, { code: 'internal_error', title: 'Internal error', status: 500, detail: 'unexpected error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    try {
      assertLoopbackHost(req.headers.host, port);
      if (origin === undefined || !origins.has(origin)) {
        throw new AgentError('origin_forbidden', `the agent does not serve ${origin === undefined ? 'requests without an Origin' : origin}`);
      }
      const path = new URL(req.url ?? '/', 'http://agent').pathname;
      if (req.method === 'OPTIONS') return preflight(req, res, origin);
      if (req.method === 'GET' && path === '/v1/status') return send(res, origin, 200, status());
      if (req.method === 'GET' && path === '/v1/certificates') return send(res, origin, 200, await exclusive(async () => listCertificates()));
      if (req.method === 'POST' && path === '/v1/sign') return send(res, origin, 200, await exclusive(async () => sign(req, origin)));
      throw new AgentError('not_found', `no ${req.method} ${path}`);
    } catch (error) {
      const problem = toProblem(error);
      if (problem.status >= 500) log(`agent: ${problem.code}: ${problem.detail}`);
      // A refused origin gets no CORS headers: its page cannot even read why.
      send(res, problem.code === 'origin_forbidden' || problem.code === 'host_forbidden' ? undefined : origin, problem.status, problem);
    }
  }

  async function exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (pending) throw new AgentError('busy', 'another request to the token is pending; try again when it is done');
    pending = true;
    try {
      return await work();
    } finally {
      pending = false;
    }
  }

  function status() {
    return { agent: 'yagona-agent', version: agentVersion, module: options.module?.path ?? null };
  }

  function requireModule(): TokenModule {
    if (options.module === undefined) throw new TokenError('no_module', 'no PKCS#11 module is configured (--module)');
    return options.module;
  }

  function listCertificates() {
    const module = requireModule();
    const tokens = module.tokens();
    return { tokens, certificates: module.certificates().map(describeCertificate) };
  }

  async function sign(req: IncomingMessage, origin: string) {
    const body = await readJson(req);
    const { certificate, pin, challenge } = body as Record<string, unknown>;
    if (typeof certificate !== 'string' || typeof pin !== 'string' || typeof challenge !== 'string') {
      throw new AgentError('invalid_request', 'the body is {"certificate": id, "pin": text, "challenge": text}');
    }
    if (!challenge.startsWith(challengeStart) || challenge.length > maxChallengeLength) {
      throw new AgentError('invalid_request', 'the challenge is not a Yagona ID sign-in challenge');
    }
    const module = requireModule();
    const content = new TextEncoder().encode(bindToOrigin(origin, challenge));
    const cms = await module.signCms({ certificateId: certificate, pin, content });
    return { format: 'cms', cms: Buffer.from(cms).toString('base64'), origin };
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      port = (server.address() as AddressInfo).port;
      resolve({
        server,
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

/** Host must be the loopback name and our port: anything else is a rebound DNS name. */
function assertLoopbackHost(host: string | undefined, port: number): void {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (host === undefined || !allowed.includes(host.toLowerCase())) {
    throw new AgentError('host_forbidden', `the agent answers only as ${allowed.join(' or ')}`);
  }
}

function preflight(req: IncomingMessage, res: ServerResponse, origin: string): void {
  const method = req.headers['access-control-request-method'];
  if (method !== 'GET' && method !== 'POST') throw new AgentError('invalid_request', 'preflight for an unsupported method');
  res.statusCode = 204;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin, Access-Control-Request-Private-Network');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
  res.setHeader('Access-Control-Allow-Headers', 'content-type');
  res.setHeader('Access-Control-Max-Age', '600');
  if (req.headers['access-control-request-private-network'] === 'true') {
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  }
  res.end();
}

function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return Promise.reject(new AgentError('invalid_request', 'the body must be application/json'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      reject(new AgentError('invalid_request', 'the body did not arrive in time'));
      req.destroy();
    }, bodyTimeoutMs);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        clearTimeout(timer);
        reject(new AgentError('payload_too_large', `the body is larger than ${maxBodyBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        reject(new AgentError('invalid_request', 'the body is not JSON'));
      }
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function describeCertificate(entry: TokenCertificate) {
  const cert = entry.certificate;
  return {
    id: entry.id,
    slot: entry.slot,
    token: entry.tokenLabel,
    label: entry.label,
    subject: cert.subject.text,
    issuer: cert.issuer.text,
    serialNumber: cert.serialHex,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    keyType: cert.publicKey.kind,
    certificate: Buffer.from(entry.der).toString('base64'),
  };
}

interface Problem {
  code: string;
  title: string;
  status: number;
  detail: string;
  [key: string]: unknown;
}

function toProblem(error: unknown): Problem {
  if (error instanceof AgentError || error instanceof TokenError) {
    const status = statusOf[error.code];
    return { ...error.details, code: error.code, title: error.code.replace(/_/g, ' '), status, detail: error.message };
  }
  return { code: 'internal_error', title: 'internal error', status: 500, detail: 'unexpected error' };
}

function send(res: ServerResponse, origin: string | undefined, status: number, body: object): void {
  res.statusCode = status;
  res.setHeader('Content-Type', status >= 400 ? 'application/problem+json' : 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (origin !== undefined) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
  }
  res.end(JSON.stringify(body));
}
