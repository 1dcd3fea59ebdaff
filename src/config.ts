// The only reader of process.env: parse, validate, freeze. One error lists every problem, one line each.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { canonicalDn } from './pki/x509/name.ts';
import { builtInFamilyNames, defaultFamilyNames, familyNamePattern } from './pki/algorithms/familyNames.ts';

const revocationSource = z.enum(['local', 'crl', 'ocsp']);
const commaList = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

const redisUrlPattern = /^(rediss?:\/\/.+|redis-cluster:\/\/[^/?]+.*|redis-sentinel:\/\/[^/?]+\/[^/?]+.*|unix:\/\/\/.+|\/.+)$/;
const redisUrlForms = 'redis://…, rediss://…, redis-cluster://host:port[,host:port…], redis-sentinel://host:port[,host:port…]/master, unix:///path or /path (a socket)';

/** What Express's `trust proxy` accepts, less `true` (which would believe any client's header). */
export type TrustProxy = false | number | readonly string[];

const trustProxyNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

function parseTrustProxy(text: string, ctx: z.RefinementCtx): TrustProxy {
  const value = text.trim();
  if (value === '' || value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true') {
    ctx.addIssue({ code: 'custom', message: 'true would believe any client\'s X-Forwarded-For; give the hop count or the proxies\' addresses (CIDR list, loopback)' });
    return z.NEVER;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => !trustProxyNames.has(entry) && !isAddressOrCidr(entry));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `"${bad}" is not a hop count, an IP address, a CIDR range or loopback/linklocal/uniquelocal` });
    return z.NEVER;
  }
  return Object.freeze(entries);
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const schema = z
  .object({
    NODE_ENV: z.string().default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    ISSUER_URL: z.url({ protocol: /^https?$/ }).optional(),
    // The embedded default: a file under data/, so `npm start` needs nothing installed.
    DATABASE_URL: z.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'sqlite:PATH or postgres://…').default('sqlite:data/yagona.sqlite'),
    // Every form src/stores/redis.ts connects to; a Sentinel URL must name its master.
    REDIS_URL: z.string().regex(redisUrlPattern, redisUrlForms).optional(),
    // Whose X-Forwarded-For is believed (Express `trust proxy`): none by default, so a client
    // cannot choose the address its limits and audit rows are kept under.
    TRUST_PROXY: z.string().default('').transform(parseTrustProxy),
    TRUST_ANCHORS_DIR: z.string().min(1).optional(),
    INTERMEDIATES_DIR: z.string().min(1).optional(),
    // Long enough to pick a key file and type a password, short enough to limit replay windows.
    CHALLENGE_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(120),
    // Short sessions: revocation also cuts them, but a short life bounds what a leak is worth.
    SESSION_TTL_SECONDS: z.coerce.number().int().min(30).max(86400).default(600),
    REVOCATION_CHECKS: z
      .string()
      .default('local')
      .transform(commaList)
      // Order matters: a later source is asked only when an earlier one cannot decide. The local
      // registry applies first whether listed or not (src/revocation/sources.ts).
      .pipe(z.array(revocationSource).min(1)),
    // Fail closed: an unknown status is not a "good" status (docs/security-cases.md §0 item 6).
    REVOCATION_FAIL_MODE: z.enum(['closed', 'open']).default('closed'),
    // Web eID's default: a responder slower than this is, for a waiting citizen, down.
    OCSP_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
    // A large CRL over a modest link; the cache makes this rare (once per nextUpdate per URL).
    CRL_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    // National CAs' CRLs reach tens of MiB; the parser's own budget stops at 32 MiB (src/pki/x509/crl.ts).
    CRL_MAX_BYTES: z.coerce.number().int().min(1024).max(32 * 1024 * 1024).default(32 * 1024 * 1024),
    // Empty: no URL taken from a certificate is ever fetched (docs/security-cases.md §C 50, §D 65), so
    // `crl` needs this list and `ocsp` needs it or OCSP_RESPONDERS (checked below).
    REVOCATION_ALLOWED_HOSTS: z
      .string()
      .default('')
      .transform((text) => text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/, 'host or host:port'))),
    // Designated responders by issuer DN (JSON object {"CN=…,O=…,C=UZ": "http://…"}): used
    // instead of the certificates' AIA for that issuer. Empty by default.
    OCSP_RESPONDERS: z
      .string()
      .default('{}')
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'not JSON (expected {"<issuer DN>": "http://…"})' });
          return z.NEVER;
        }
      })
      .pipe(z.record(z.string(), z.url({ protocol: /^http$/ }))),
    KEYS_SECRET: z.string().min(16, 'at least 16 characters').optional(),
    // Per client address and minute, for challenges and sign-ins each, the whole budget usable at
    // once. A citizen needs a few; a benchmark or a proxy without TRUST_PROXY needs more.
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
    // Authorization requests per client address: each stores an interaction for 10 minutes, so
    // this bounds what one address can make the shared store hold.
    RATE_LIMIT_AUTHORIZE_PER_MINUTE: z.coerce.number().int().min(1).default(60),
    // Sign-in pages (GET /login/{id}) per client address: a citizen opens one per sign-in.
    RATE_LIMIT_LOGIN_PER_MINUTE: z.coerce.number().int().min(1).default(120),
    // Token requests per client address: one agency backend redeems the codes of all its citizens.
    RATE_LIMIT_TOKEN_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
    // Failed token requests per client_id: a correct client rarely fails, a secret being guessed does.
    RATE_LIMIT_TOKEN_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(30),
    // Sign-ins per certificate whose signature verified (failed and successful): a citizen signs in
    // a few times a minute at most; a stolen key cannot be hammered against the other checks.
    RATE_LIMIT_CERTIFICATE_PER_MINUTE: z.coerce.number().int().min(1).default(20),
    // In-flight requests get this long to finish after SIGTERM (systemd's TimeoutStopSec is longer).
    SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(20),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Where `npm run agent:package` writes by default, so a built package is offered at once.
    AGENT_DOWNLOADS_DIR: z.string().min(1).default('dist/agent'),
    // The national O'zDSt family and the international ones; GOST R 34.10-2012 only when asked
    // for, as no Uzbek CA uses it (src/pki/algorithms/).
    SIGNATURE_ALGORITHMS: z
      .string()
      .default(defaultFamilyNames.join(','))
      .transform(commaList)
      .pipe(z.array(z.string()).min(1, 'names no family')),
    // Modules that register more families (docs/signature-plugins.md); none by default.
    SIGNATURE_PLUGINS: z.string().default('').transform(commaList),
  })
  .superRefine((env, ctx) => {
    if (env.REVOCATION_CHECKS.includes('crl') && env.REVOCATION_ALLOWED_HOSTS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['REVOCATION_ALLOWED_HOSTS'], message: 'required when REVOCATION_CHECKS includes crl (only listed hosts are fetched)' });
    }
    if (env.REVOCATION_CHECKS.includes('ocsp') && env.REVOCATION_ALLOWED_HOSTS.length === 0 && Object.keys(env.OCSP_RESPONDERS).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['REVOCATION_ALLOWED_HOSTS'], message: 'REVOCATION_CHECKS includes ocsp: set it or OCSP_RESPONDERS (only listed hosts are asked)' });
    }
    for (const issuer of Object.keys(env.OCSP_RESPONDERS)) {
      try {
        canonicalDn(issuer);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['OCSP_RESPONDERS'], message: `"${issuer}" is not an RFC 4514 distinguished name` });
      }
    }
    for (const name of env.SIGNATURE_ALGORITHMS ?? []) {
      if (!familyNamePattern.test(name)) {
        ctx.addIssue({ code: 'custom', path: ['SIGNATURE_ALGORITHMS'], message: `"${name}" is not a family name (lower-case letters, digits and hyphens)` });
      } else if (env.SIGNATURE_PLUGINS.length === 0 && !(builtInFamilyNames as readonly string[]).includes(name)) {
        // With plug-ins, their names are checked once they are loaded (login/algorithms.ts).
        ctx.addIssue({ code: 'custom', path: ['SIGNATURE_ALGORITHMS'], message: `unknown family "${name}" (built in: ${builtInFamilyNames.join(', ')}; others come from SIGNATURE_PLUGINS)` });
      }
    }
    if (env.NODE_ENV === 'production' && env.KEYS_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['KEYS_SECRET'], message: 'required when NODE_ENV=production (signing keys are stored encrypted)' });
    }
    if (env.NODE_ENV === 'production' && env.REDIS_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'required when NODE_ENV=production (the in-process store serves one instance only)' });
    }
  });

export interface Config {
  readonly nodeEnv: string;
  readonly port: number;
  readonly issuerUrl: string;
  readonly databaseUrl: string;
  readonly redisUrl: string | undefined;
  readonly trustProxy: TrustProxy;
  readonly trustAnchorsDir: string;
  /** True when no TRUST_ANCHORS_DIR was given: the development PKI is created and trusted. */
  readonly devPki: boolean;
  readonly intermediatesDir: string;
  readonly challengeTtlSeconds: number;
  readonly sessionTtlSeconds: number;
  readonly revocationChecks: readonly ('local' | 'crl' | 'ocsp')[];
  readonly revocationFailMode: 'closed' | 'open';
  readonly ocspTimeoutMs: number;
  readonly crlTimeoutMs: number;
  readonly crlMaxBytes: number;
  /** Lower-case host or host:port entries; a URL's host must equal one (no port: port 80). */
  readonly revocationAllowedHosts: readonly string[];
  /** Designated OCSP responder URL by canonical issuer DN (pki canonicalDn). */
  readonly ocspResponders: Readonly<Record<string, string>>;
  readonly keysSecret: string | undefined;
  readonly rateLimits: RateLimitSettings;
  readonly shutdownGraceSeconds: number;
  readonly logLevel: string;
  /** Accepted signature families, in SIGNATURE_ALGORITHMS order. */
  readonly signatureAlgorithms: readonly string[];
  /** Module specifiers of signature plug-ins (a path, relative to the working directory, or a package). */
  readonly signaturePlugins: readonly string[];
  /** The signing agent's packages the page offers (src/http/agentDownloads.ts). */
  readonly agentDownloadsDir: string;
}

/** Requests allowed per minute (docs/configuration.md "Rate limits"). */
export interface RateLimitSettings {
  /** Per client address: challenges, and separately sign-ins (POST /v1/sessions and /login/{id}). */
  readonly perAddress: number;
  readonly authorizePerAddress: number;
  readonly loginPagePerAddress: number;
  readonly tokenPerAddress: number;
  readonly tokenFailuresPerClient: number;
  readonly perCertificate: number;
}

/** A refused start: one line per problem, each `bad configuration: <where>: <what>`. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(problems: readonly string[]) {
    super(problems.map((problem) => `bad configuration: ${problem}`).join('\n'));
  }
}

export const devPkiDir = 'certs/dev';

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * What the service, the admin CLI and the agent configure themselves from: the real environment
 * over the variables of an env file — `.env` in the working directory when there is one, or the
 * file ENV_FILE names (empty: none). A real variable always wins, so a deployment's environment
 * is never overridden by a file left in its folder. The file is parsed, not loaded: process.env
 * stays as the process got it.
 */
export function readEnvironment(env: Environment = process.env, cwd = process.cwd()): Environment {
  const named = env.ENV_FILE;
  if (named === '') return env;
  const file = resolve(cwd, named ?? '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (named === undefined && code === 'ENOENT') return env;
    throw new ConfigError([`${named === undefined ? '.env' : 'ENV_FILE'}: cannot read ${file} (${code ?? String(error)})`]);
  }
  return { ...parseEnv(text), ...env };
}

export function loadConfig(env: Environment = readEnvironment()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const devPki = e.TRUST_ANCHORS_DIR === undefined && e.NODE_ENV !== 'production';
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    issuerUrl: (e.ISSUER_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    trustAnchorsDir: e.TRUST_ANCHORS_DIR ?? (devPki ? `${devPkiDir}/trust` : 'certs/trust'),
    devPki,
    intermediatesDir: e.INTERMEDIATES_DIR ?? (devPki ? `${devPkiDir}/intermediates` : 'certs/intermediates'),
    challengeTtlSeconds: e.CHALLENGE_TTL_SECONDS,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    revocationChecks: Object.freeze([...new Set(e.REVOCATION_CHECKS)]),
    revocationFailMode: e.REVOCATION_FAIL_MODE,
    ocspTimeoutMs: e.OCSP_TIMEOUT_MS,
    crlTimeoutMs: e.CRL_TIMEOUT_MS,
    crlMaxBytes: e.CRL_MAX_BYTES,
    revocationAllowedHosts: Object.freeze([...new Set(e.REVOCATION_ALLOWED_HOSTS)]),
    ocspResponders: Object.freeze(Object.fromEntries(Object.entries(e.OCSP_RESPONDERS).map(([dn, url]) => [canonicalDn(dn), url]))),
    keysSecret: e.KEYS_SECRET,
    trustProxy: e.TRUST_PROXY,
    rateLimits: Object.freeze({
      perAddress: e.RATE_LIMIT_PER_MINUTE,
      authorizePerAddress: e.RATE_LIMIT_AUTHORIZE_PER_MINUTE,
      loginPagePerAddress: e.RATE_LIMIT_LOGIN_PER_MINUTE,
      tokenPerAddress: e.RATE_LIMIT_TOKEN_PER_MINUTE,
      tokenFailuresPerClient: e.RATE_LIMIT_TOKEN_FAILURES_PER_MINUTE,
      perCertificate: e.RATE_LIMIT_CERTIFICATE_PER_MINUTE,
    }),
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    logLevel: e.LOG_LEVEL,
    agentDownloadsDir: e.AGENT_DOWNLOADS_DIR,
    signatureAlgorithms: Object.freeze([...new Set(e.SIGNATURE_ALGORITHMS)]),
    signaturePlugins: Object.freeze([...new Set(e.SIGNATURE_PLUGINS)]),
  });
}
