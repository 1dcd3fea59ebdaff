// The only reader of process.env: parse, validate, freeze. One error lists every problem, one line each.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseDocument } from 'yaml';
import { canonicalDn } from './pki/x509/name.ts';
import { builtInFamilyNames, defaultFamilyNames, familyNamePattern } from './pki/algorithms/familyNames.ts';
import { ekuByName } from './pki/asn1/oids.ts';
import { acrValues } from './login/assurance.ts';
import type { TrustPolicy } from './login/trustPolicy.ts';

const revocationSource = z.enum(['local', 'crl', 'ocsp']);
/** E-IMZO's development keys as its own browser client publishes them (e-imzo-client.js `API_KEYS`). */
const defaultEimzoApiKeys = [
  'localhost:96D0C1491615C82B9A54D9989779DF825B690748224C2B04F500F370D51827CE2644D8D4A82C18184D73AB8530BB8ED537269603F61DB0D03D2104ABF789970B',
  '127.0.0.1:A7BCFA5D490B351BE0754130DF03A068F855DB4333D43921125B9CF2670EF6A40370C646B90401955E1F7BC9CDBF59CE0B2C5467D820BE189C845D0B79CFC96F',
].join(',');

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
    // Single sign-on (GovSSO v2's figures): a browser idle for 15 minutes signs again (NIST SP
    // 800-63B §4.2.3 AAL2 inactivity is 30 minutes), and nobody stays signed in past 12 hours (§4.3.3).
    SSO_IDLE_SECONDS: z.coerce.number().int().min(60).max(86400).default(900),
    SSO_MAX_SECONDS: z.coerce.number().int().min(60).max(86400).default(43200),
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
    // One process, as before WORKERS existed: more is a deployment's choice (it needs Redis).
    // `auto`: one per core this process may run on.
    WORKERS: z.string().default('1').transform((text, ctx) => {
      const value = text.trim();
      if (value === 'auto') return availableParallelism();
      if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 256) return Number(value);
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a number of processes (1–256) or auto` });
      return z.NEVER;
    }),
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
    // The deployment's E-IMZO API keys, domain:key pairs (docs/configuration.md "E-IMZO"). E-IMZO's
    // published development keys by default, which open it for pages on localhost and 127.0.0.1 only.
    EIMZO_API_KEYS: z
      .string()
      .default(defaultEimzoApiKeys)
      .transform(commaList)
      .pipe(z.array(z.string().regex(/^[a-z0-9.-]+:[0-9A-F]{32,256}$/, 'domain:KEY (the domain, a colon, E-IMZO\'s hexadecimal key)')).min(1, 'names no domain')),
    // Which CAs may sign whom in (docs/configuration.md "Trust policy"); read below. Unset: the
    // development PKI's generated one, or (outside production only) no per-CA rules.
    TRUST_POLICY_FILE: z.string().min(1).optional(),
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
    if (env.SSO_IDLE_SECONDS > env.SSO_MAX_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['SSO_IDLE_SECONDS'], message: 'longer than SSO_MAX_SECONDS, the absolute limit it can never pass' });
    }
    if (env.NODE_ENV === 'production' && env.TRUST_POLICY_FILE === undefined) {
      ctx.addIssue({ code: 'custom', path: ['TRUST_POLICY_FILE'], message: 'required when NODE_ENV=production (which CAs may sign citizens in, and which identifiers each may assert)' });
    }
    if (env.NODE_ENV === 'production' && env.KEYS_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['KEYS_SECRET'], message: 'required when NODE_ENV=production (signing keys are stored encrypted)' });
    }
    if (env.WORKERS > 1 && env.REDIS_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['WORKERS'], message: `${env.WORKERS} processes need REDIS_URL (the in-process store cannot be shared between them)` });
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
  /** Single sign-on: a browser's OP session ends after this long without an authorize or refresh… */
  readonly ssoIdleSeconds: number;
  /** …and this long after its signature, whatever happens. */
  readonly ssoMaxSeconds: number;
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
  /** Processes serving the port (node:cluster); more than one needs Redis. */
  readonly workers: number;
  readonly logLevel: string;
  /** Accepted signature families, in SIGNATURE_ALGORITHMS order. */
  readonly signatureAlgorithms: readonly string[];
  /** Module specifiers of signature plug-ins (a path, relative to the working directory, or a package). */
  readonly signaturePlugins: readonly string[];
  /** TRUST_POLICY_FILE, or the development PKI's generated policy (read once the PKI exists: loadTrustPolicy). */
  readonly trustPolicyFile: string | undefined;
  /** The per-CA trust policy read from TRUST_POLICY_FILE; undefined until then, or without one. */
  readonly trustPolicy: TrustPolicy | undefined;
  /** The signing agent's packages the page offers (src/http/agentDownloads.ts). */
  readonly agentDownloadsDir: string;
  /** E-IMZO API keys the sign-in page registers with the citizen's E-IMZO module, in EIMZO_API_KEYS order. */
  readonly eimzoApiKeys: readonly EimzoApiKey[];
}

/** One domain's key for E-IMZO's `apikey` call: the module serves pages of that domain only. */
export interface EimzoApiKey {
  readonly domain: string;
  readonly key: string;
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
/** The trust policy the development PKI writes for its own CAs (src/devPki.ts). */
export const devTrustPolicyFile = `${devPkiDir}/trust-policy.yaml`;

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
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  // Read with the variables, so a refused start lists the policy's problems beside theirs.
  const trustPolicy = env.TRUST_POLICY_FILE === undefined || env.TRUST_POLICY_FILE === '' ? undefined : readTrustPolicy(env.TRUST_POLICY_FILE, problems);
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
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
    ssoIdleSeconds: e.SSO_IDLE_SECONDS,
    ssoMaxSeconds: e.SSO_MAX_SECONDS,
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
    workers: e.WORKERS,
    logLevel: e.LOG_LEVEL,
    agentDownloadsDir: e.AGENT_DOWNLOADS_DIR,
    eimzoApiKeys: Object.freeze(e.EIMZO_API_KEYS.map((pair) => {
      const [domain = '', key = ''] = pair.split(':');
      return Object.freeze({ domain, key });
    })),
    signatureAlgorithms: Object.freeze([...new Set(e.SIGNATURE_ALGORITHMS)]),
    signaturePlugins: Object.freeze([...new Set(e.SIGNATURE_PLUGINS)]),
    trustPolicyFile: e.TRUST_POLICY_FILE ?? (devPki ? devTrustPolicyFile : undefined),
    trustPolicy,
  });
}

/**
 * The configuration with its trust policy read from `config.trustPolicyFile`: for the
 * development PKI's policy, which exists only once the PKI was made. A bad file is one
 * ConfigError line per problem, as for TRUST_POLICY_FILE.
 */
export function withTrustPolicy(config: Config): Config {
  if (config.trustPolicy !== undefined || config.trustPolicyFile === undefined) return config;
  const problems: string[] = [];
  const trustPolicy = readTrustPolicy(config.trustPolicyFile, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, trustPolicy });
}

const hex = /^[0-9a-f]{64}$/;
const dottedOid = /^[0-2](\.(0|[1-9]\d*))+$/;

/** An issuing CA's fingerprint as operators copy it: hex, any case, colons or spaces between bytes allowed. */
const fingerprint = z.string().transform((text, ctx) => {
  const digits = text.replace(/[:\s]/g, '').toLowerCase();
  if (!hex.test(digits)) {
    ctx.addIssue({ code: 'custom', message: `"${text.length > 80 ? `${text.slice(0, 80)}…` : text}" is not a SHA-256 fingerprint (64 hexadecimal digits, colons allowed)` });
    return z.NEVER;
  }
  return digits;
});

const ekuNames = Object.keys(ekuByName);
const extendedKeyUsage = z.string().transform((name, ctx) => {
  const oid = ekuByName[name] ?? (dottedOid.test(name) ? name : undefined);
  if (oid === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown extended key usage "${name}" (known: ${ekuNames.join(', ')}; or a dotted OID)` });
    return z.NEVER;
  }
  return oid;
});

const trustPolicySchema = z.strictObject({
  issuers: z.array(z.strictObject({
    name: z.string().min(1).max(200),
    sha256: fingerprint,
    eku: z.array(extendedKeyUsage).min(1).optional(),
    policies: z.array(z.string().regex(dottedOid, 'a certificate policy is a dotted OID')).min(1).optional(),
    identifiers: z.array(z.enum(['pinfl', 'tin'])).optional(),
    acr: z.enum(acrValues).optional(),
  })).min(1, 'names no issuing CA'),
});

/** Two entries for one CA (read before the schema, so it is named beside the other problems). */
function duplicateIssuers(data: unknown): string[] {
  const issuers = (data as { issuers?: unknown } | null)?.issuers;
  if (!Array.isArray(issuers)) return [];
  const seen = new Map<string, number>();
  return issuers.flatMap((issuer: unknown, index) => {
    const sha256 = (issuer as { sha256?: unknown } | null)?.sha256;
    if (typeof sha256 !== 'string') return [];
    const digits = sha256.replace(/[:\s]/g, '').toLowerCase();
    const first = seen.get(digits);
    if (!hex.test(digits)) return [];
    if (first === undefined) {
      seen.set(digits, index);
      return [];
    }
    return [`issuers[${index}].sha256: the same CA as issuers[${first}]`];
  });
}

/**
 * TRUST_POLICY_FILE: YAML (so JSON too) in the shape of docs/configuration.md; every problem is
 * one line naming the file and the place, e.g. `issuers[1]: unknown key "ekus"`.
 */
function readTrustPolicy(file: string, problems: string[]): TrustPolicy | undefined {
  const where = `TRUST_POLICY_FILE: ${file}`;
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (error) {
    problems.push(`${where}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return undefined;
  }
  // The failsafe schema reads every scalar as a string: a fingerprint of digits stays a fingerprint.
  const document = parseDocument(text, { prettyErrors: true, schema: 'failsafe' });
  if (document.errors.length > 0) {
    // The first line says what and where ("… at line 3, column 5:"); the rest quotes the file.
    for (const error of document.errors) problems.push(`${where}: not YAML: ${error.message.split('\n')[0]!.replace(/:$/, '')}`);
    return undefined;
  }
  const data: unknown = document.toJS();
  const parsed = trustPolicySchema.safeParse(data, { reportInput: true });
  const found = [...(parsed.success ? [] : parsed.error.issues.map(policyIssue)), ...duplicateIssuers(data)];
  problems.push(...found.map((problem) => `${where}: ${problem}`));
  if (!parsed.success || found.length > 0) return undefined;
  return Object.freeze({
    file,
    issuers: Object.freeze(parsed.data.issuers.map((issuer) => Object.freeze({ ...issuer, identifiers: issuer.identifiers ?? [] }))),
  });
}

function policyIssue(issue: z.core.$ZodIssue): string {
  const place = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '') || 'the file';
  if (issue.code === 'unrecognized_keys') return `${place}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
  if (issue.code === 'invalid_value') return `${place}: ${JSON.stringify(issue.input)} is not one of ${issue.values.map((value) => String(value)).join(', ')}`;
  return `${place}: ${issue.message}`;
}
