// `npm run bench`: full sign-ins over HTTP (challenge → CMS signature → session) against a
// service instance with Redis, N concurrent, and the crypto ceiling: the same signature and
// chain checks and JWT signing done directly with node:crypto in one process. Then the same
// sign-ins by O'zDSt citizens (parameter set A, keys as E-IMZO makes them, under an all-O'zDSt
// root and CA, CMS in E-IMZO's BER) and the O'zDSt verification rate beside ECDSA P-256's
// (scripts/bench/gost.ts, one core each).
// Options: --seconds S (default 10), --concurrency N (default 32), --citizens K (default 20),
// --redis URL (default TEST_REDIS_URL or redis://127.0.0.1:6379), --format raw (the citizens
// post raw ES256 signatures instead of CMS; no O'zDSt part: raw takes JWS algorithms only),
// --quick (the ECDSA sign-ins and the ceiling only, for comparing a change), --sources (the
// service from src/ under tsx, as `npm start` runs it, instead of the build production runs).
// --revoked N: instead, compare sign-in throughput with 10 and with N certificates in the local
// revocation registry (issue 4: the registry's size must not show in the hot path).
// --soak MINUTES: instead, sign in for that long and print, per minute, the sign-ins, their
// p50/p99 and the service's resident and heap memory: both should stay flat (not in CI).
// --sessions N: instead, compare sign-in throughput with 10 and with N live sessions in Redis
// (scripts/bench/sessions.ts). --workers N: instead, compare WORKERS=1 with WORKERS=N, the
// service on every core (scripts/bench/workers.ts). --crl-refresh: instead, sign-in latency and the
// service's event-loop delay while it refreshes a 100 000-entry CRL, and without a refresh
// (scripts/bench/crlRefresh.ts). --import-crl: instead, sign-in latency while an operator runs
// `admin import-crl` of a 100 000-entry CRL, and without it (scripts/bench/importCrl.ts).
// --oidc: instead, an agency app's OIDC sign-in, authorize → sign-in page POST → token with PKCE;
// --oidc-continue: the same through the single sign-on continue page, without a signature
// (scripts/bench/oidc.ts).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signCms } from '../src/pki/issue/cmsSign.ts';
import { generateGostSigner, ozdstProfile } from '../src/pki/issue/gostSigner.ts';
import { createKeyPair, issueCertificate, toPem } from '../src/pki/issue/issue.ts';
import type { ExternalSigner } from '../src/pki/issue/signer.ts';
import { serviceNodeFlags } from '../src/heap.ts';
import { parseCertificate } from '../src/pki/x509/certificate.ts';
import { openDatabase } from '../src/stores/sql/database.ts';
import type { RevocationRecord } from '../src/stores/types.ts';
import { gostVerificationRates } from './bench/gost.ts';
import { alternateRounds, difference, summary } from './bench/rounds.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    citizens: { type: 'string', default: '20' },
    redis: { type: 'string', default: process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379' },
    revoked: { type: 'string' },
    soak: { type: 'string' },
    sessions: { type: 'string' },
    workers: { type: 'string' },
    'crl-refresh': { type: 'boolean' },
    'import-crl': { type: 'boolean' },
    oidc: { type: 'boolean', default: false },
    'oidc-continue': { type: 'boolean', default: false },
    format: { type: 'string', default: 'cms' },
    quick: { type: 'boolean', default: false },
    sources: { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const day = 86_400_000;
if (args.format !== 'cms' && args.format !== 'raw') throw new Error('--format is cms or raw');

interface Signer { certDer: Uint8Array; privateKey: KeyObject | ExternalSigner; chain: Uint8Array[]; encoding?: 'ber' }

/** `crlUrls`: the distribution points of the citizen CA (the root's list) and of the citizens (the CA's). */
async function makePki(count: number, crlUrls?: { root: string; ca: string }) {
  const now = Date.now();
  const rootKeys = await createKeyPair('ec-p256');
  const root = await issueCertificate({ subject: 'CN=Bench Root CA,C=UZ', publicKey: rootKeys.publicKey, privateKey: rootKeys.privateKey, ca: true, notBefore: new Date(now - day), notAfter: new Date(now + 365 * day) });
  const caKeys = await createKeyPair('ec-p256');
  const ca = await issueCertificate({
    subject: 'CN=Bench Citizen CA,C=UZ', publicKey: caKeys.publicKey, issuer: { certDer: root.der, privateKey: rootKeys.privateKey }, ca: true, pathLen: 0,
    notBefore: new Date(now - day), notAfter: new Date(now + 365 * day), ...(crlUrls === undefined ? {} : { crlUrl: crlUrls.root }),
  });
  const citizens: Array<Signer & { privateKey: KeyObject }> = [];
  for (let i = 0; i < count; i++) {
    const keys = await createKeyPair('ec-p256');
    const leaf = await issueCertificate({
      subject: `CN=Bench Citizen ${i},1.2.860.3.16.1.2=${String(30000000000000 + i)},C=UZ`, publicKey: keys.publicKey,
      issuer: { certDer: ca.der, privateKey: caKeys.privateKey }, keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'],
      notBefore: new Date(now - day), notAfter: new Date(now + 30 * day), ...(crlUrls === undefined ? {} : { crlUrl: crlUrls.ca }),
    });
    citizens.push({ certDer: leaf.der, privateKey: keys.privateKey, chain: [ca.der] });
  }
  return { root, ca, rootKeys, caKeys, citizens };
}

/** O'zDSt root → O'zDSt CA → O'zDSt citizens, as the national PKI; each posts E-IMZO's BER CMS with the chain inside. */
async function makeOzdstPki(count: number) {
  const now = Date.now();
  const validity = { notBefore: new Date(now - day), notAfter: new Date(now + 365 * day) };
  const rootKey = generateGostSigner(ozdstProfile('A'));
  const root = await issueCertificate({ subject: "CN=Bench O'zDSt Root,C=UZ", publicKey: rootKey.spki, privateKey: rootKey, ca: true, ...validity });
  const caKey = generateGostSigner(ozdstProfile('A'));
  const ca = await issueCertificate({ subject: "CN=Bench O'zDSt Citizen CA,C=UZ", publicKey: caKey.spki, issuer: { certDer: root.der, privateKey: rootKey }, ca: true, pathLen: 0, ...validity });
  const citizens: Signer[] = [];
  for (let i = 0; i < count; i++) {
    const key = generateGostSigner(ozdstProfile('A'));
    const leaf = await issueCertificate({
      subject: `CN=Bench O'zDSt Citizen ${i},1.2.860.3.16.1.2=${String(40000000000000 + i)},C=UZ`, publicKey: key.spki,
      issuer: { certDer: ca.der, privateKey: caKey }, keyUsage: ['digitalSignature', 'nonRepudiation'], extKeyUsage: ['clientAuth'], ...validity,
    });
    citizens.push({ certDer: leaf.der, privateKey: key, chain: [ca.der, root.der], encoding: 'ber' });
  }
  return { root, citizens };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function request(port: number, method: string, path: string, body?: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: { ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A fresh challenge signed by `citizen`: the body POST /v1/sessions and POST /login/{id} take. */
async function signedChallenge(port: number, citizen: Signer): Promise<string> {
  const c = await request(port, 'POST', '/v1/challenges', '{}');
  if (c.status !== 201) throw new Error(`challenge: ${c.status} ${c.text}`);
  const { id, challenge } = JSON.parse(c.text) as { id: string; challenge: string };
  if (args.format === 'raw' && citizen.privateKey instanceof KeyObject) {
    // JWS ES256 over the challenge bytes: r‖s (docs/api.md "Raw signature").
    const signature = sign('sha256', Buffer.from(challenge, 'utf8'), { key: citizen.privateKey, dsaEncoding: 'ieee-p1363' });
    const certificates = [citizen.certDer, ...citizen.chain].map((der) => Buffer.from(der).toString('base64'));
    return JSON.stringify({ challengeId: id, format: 'raw', certificates, algorithm: 'ES256', signature: signature.toString('base64') });
  }
  const cms = signCms({
    content: Buffer.from(challenge, 'utf8'), signerCertDer: citizen.certDer, extraCertDers: citizen.chain, privateKey: citizen.privateKey,
    ...(citizen.encoding === undefined ? {} : { encoding: citizen.encoding, signingTime: new Date() }),
  });
  return JSON.stringify({ challengeId: id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
}

async function login(port: number, citizen: Signer): Promise<void> {
  const s = await request(port, 'POST', '/v1/sessions', await signedChallenge(port, citizen));
  if (s.status !== 201) throw new Error(`session: ${s.status} ${s.text}`);
}

/**
 * The service as production runs it (docs/operations.md "Installing"): `npm run build`'s dist/
 * under plain node, built once per bench run into a folder of its own beside a link to
 * node_modules. `--sources` runs src/main.ts under tsx instead, as `npm start` does.
 */
let builtDir: string | undefined;
function serviceEntry(): string[] {
  return builtOr('main.js', 'src/main.ts');
}

/** The operator CLI the same way: dist/admin.js beside the service, or scripts/admin.ts under tsx. */
function adminEntry(): string[] {
  return builtOr('admin.js', 'scripts/admin.ts');
}

function builtOr(file: string, source: string): string[] {
  if (args.sources) return ['--import', 'tsx', source];
  if (builtDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'yagona-bench-dist-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--out', join(dir, 'dist')], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
    symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'));
    builtDir = join(dir, 'dist');
  }
  return [join(builtDir, file)];
}

/** `options.env` adds to the service's environment; `options.pin: false` leaves it every core. */
async function startService(dir: string, port: number, anchorPem: string, options: { env?: Record<string, string>; pin?: boolean } = {}) {
  await mkdir(join(dir, 'trust'), { recursive: true });
  await writeFile(join(dir, 'trust', 'root.pem'), anchorPem);
  const pin = options.pin !== false && spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', '0'] : [];
  // BENCH_SERVICE_ARGS passes node flags to the service, e.g. --cpu-prof for a profile.
  const extra = process.env.BENCH_SERVICE_ARGS?.split(' ').filter(Boolean) ?? [];
  // With the node flags package.json "start" and the systemd unit give it (src/heap.ts).
  const command = [...pin, process.execPath, ...serviceNodeFlags, ...extra, ...serviceEntry()];
  const child = spawn(command[0] as string, command.slice(1), {
    env: {
      ...process.env, PORT: String(port), REDIS_URL: args.redis, DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite')}`,
      TRUST_ANCHORS_DIR: join(dir, 'trust'), INTERMEDIATES_DIR: join(dir, 'none'), LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000', RATE_LIMIT_CERTIFICATE_PER_MINUTE: '100000000', NODE_ENV: 'development',
      // The measured instance is configured here only, not by a .env left in the checkout.
      ENV_FILE: '',
      ...options.env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Two minutes: with a million revocations recorded just now the watcher reads them all at
  // start (src/revocation/watcher.ts), which a loaded machine takes its time over.
  for (let i = 0; i < 600; i++) {
    try {
      if ((await request(port, 'GET', '/readyz')).status === 200) return child;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error('the service did not become ready');
}

/** `signIn` is one whole sign-in (default: the direct API's); the OIDC modes pass theirs. */
async function driveLogins(port: number, citizens: Signer[], forSeconds = seconds, signIn = login) {
  const latencies: number[] = [];
  const deadline = performance.now() + forSeconds * 1000;
  let failures = 0;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const citizen = citizens[next++ % citizens.length] as Signer;
      const started = performance.now();
      try {
        await signIn(port, citizen);
        latencies.push(performance.now() - started);
      } catch (error) {
        if (failures++ < 3) console.error(String(error));
      }
    }
  }));
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { rate: latencies.length / forSeconds, p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? NaN, failures };
}

/** The same work with node:crypto alone: CMS signature, both chain signatures, one ES256 JWT. */
function cryptoCeiling(pki: Awaited<ReturnType<typeof makePki>>, jwtKey: KeyObject) {
  const ca = parseCertificate(pki.ca.der);
  const rootKey = createPublicKey({ key: Buffer.from(parseCertificate(pki.root.der).spki), format: 'der', type: 'spki' });
  const caKey = createPublicKey({ key: Buffer.from(ca.spki), format: 'der', type: 'spki' });
  const samples = pki.citizens.map((citizen) => {
    const leaf = parseCertificate(citizen.certDer);
    const attrs = Buffer.alloc(110, 7); // the size of DER signedAttrs (content-type, signing time, messageDigest)
    return { leaf, key: createPublicKey({ key: Buffer.from(leaf.spki), format: 'der', type: 'spki' }), attrs, signature: sign('sha256', attrs, citizen.privateKey) };
  });
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k', typ: 'at+jwt' })).toString('base64url');
  const deadline = performance.now() + Math.min(seconds, 5) * 1000;
  const started = performance.now();
  let count = 0;
  while (performance.now() < deadline) {
    const s = samples[count % samples.length] as (typeof samples)[number];
    const digest = createHash('sha256').update('challenge bytes of about two hundred characters…'.repeat(4)).digest();
    const ok = verify('sha256', s.attrs, s.key, s.signature)
      && verify('sha256', s.leaf.tbs, caKey, s.leaf.signature)
      && verify('sha256', ca.tbs, rootKey, ca.signature)
      && digest.length === 32;
    if (!ok) throw new Error('ceiling verification failed');
    const payload = Buffer.from(JSON.stringify({ iss: 'x', sub: `pinfl:${count}`, sid: 's', jti: 'j', exp: 1, iat: 1 })).toString('base64url');
    sign('sha256', Buffer.from(`${header}.${payload}`), { key: jwtKey, dsaEncoding: 'ieee-p1363' });
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

async function main() {
  if (args.revoked !== undefined) return compareRevoked(Number(args.revoked));
  if (args.soak !== undefined) return soak(Number(args.soak));
  if (args.sessions !== undefined) return (await import('./bench/sessions.ts')).compareSessions(harness, Number(args.sessions));
  if (args.workers !== undefined) return (await import('./bench/workers.ts')).compareWorkers(harness, Number(args.workers));
  if (args['crl-refresh'] === true) return (await import('./bench/crlRefresh.ts')).crlRefresh(harness);
  if (args['import-crl'] === true) {
    spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
    return (await import('./bench/importCrl.ts')).importCrl(harness);
  }
  if (args.oidc || args['oidc-continue']) return (await import('./bench/oidc.ts')).benchOidc(harness, args['oidc-continue'] ? 'continue' : 'signature');
  // The service gets core 0, this client core 1: "one core" for the service, as the target says.
  spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const dir = await mkdtemp(join(tmpdir(), 'yagona-bench-'));
  const pki = await makePki(Number(args.citizens));
  const ozdst = await makeOzdstPki(Number(args.citizens));
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const service = await startService(dir, port, toPem(pki.root.der, 'CERTIFICATE') + toPem(ozdst.root.der, 'CERTIFICATE'));
  try {
    // Warm up: JIT, caches of parsed and verified CA certificates, connection pools.
    await driveLoginsFor(port, pki.citizens, 2);
    const result = await driveLoginsWithCpu(port, pki.citizens);
    const ceiling = cryptoCeiling(pki, (await createKeyPair('ec-p256')).privateKey);
    if (args.quick || args.format === 'raw') {
      printHeadline(result, ceiling);
      return;
    }
    await driveLoginsFor(port, ozdst.citizens, 2);
    const national = await driveLoginsWithCpu(port, ozdst.citizens);
    // The service is idle now: this process's core measures the verifiers alone.
    const rates = gostVerificationRates(Math.min(seconds, 2) / 2);
    console.log(`verifications/s on one core: ozdst ${rates.ozdst_cryptopro_a_fresh_key}  ecdsa_p256 ${rates.node_crypto_ecdsa_p256}  (gost2012_512 ${rates.gost2012_512_tc26_a_fresh_key})`);
    console.log(`ozdst logins/s: ${national.rate.toFixed(0)}  service CPU per login: ${national.cpuMsPerLogin.toFixed(3)} ms  p50_ms: ${national.p50.toFixed(2)}  p99_ms: ${national.p99.toFixed(2)}  failures ${national.failures}  (O'zDSt citizens, BER CMS, O'zDSt chain)`);
    printHeadline(result, ceiling);
  } finally {
    service.kill('SIGTERM');
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The last three lines: the sign-ins of the run, the service's CPU per sign-in, the figures of target 1. */
function printHeadline(result: Awaited<ReturnType<typeof driveLoginsWithCpu>>, ceiling: number) {
  console.log(`logins: ${Math.round(result.rate * seconds)} in ${seconds}s, concurrency ${concurrency}, format ${args.format}, failures ${result.failures}`);
  // CPU time, unlike logins/s, hardly moves when other work shares the machine: compare changes by it.
  console.log(`service CPU per login: ${result.cpuMsPerLogin.toFixed(3)} ms (1000 / this = logins/s one core could give)`);
  console.log(`logins/s: ${result.rate.toFixed(0)}  ceiling/s: ${ceiling.toFixed(0)}  ratio: ${(result.rate / ceiling).toFixed(3)}  p50_ms: ${result.p50.toFixed(2)}  p99_ms: ${result.p99.toFixed(2)}`);
}

/** driveLogins, with the service's CPU time per login over the run. */
async function driveLoginsWithCpu(port: number, citizens: Signer[]) {
  const before = await serviceCpuSeconds(port);
  const result = await driveLogins(port, citizens);
  return { ...result, cpuMsPerLogin: ((await serviceCpuSeconds(port)) - before) * 1000 / (result.rate * seconds) };
}

/** Series of the service's own /metrics (prom-client's default ones among them), by name. */
async function serviceMetrics(port: number): Promise<(name: string) => number> {
  const text = (await request(port, 'GET', '/metrics')).text;
  return (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** The service's CPU time so far (user + system). */
async function serviceCpuSeconds(port: number): Promise<number> {
  return (await serviceMetrics(port))('yagona_process_cpu_seconds_total');
}

/** The service's memory (prom-client's process and heap series). */
async function serviceMemory(port: number): Promise<{ rssMiB: number; heapMiB: number }> {
  const value = await serviceMetrics(port);
  return { rssMiB: value('yagona_process_resident_memory_bytes') / 2 ** 20, heapMiB: value('yagona_nodejs_heap_size_used_bytes') / 2 ** 20 };
}

async function soak(minutes: number) {
  spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const dir = await mkdtemp(join(tmpdir(), 'yagona-soak-'));
  const pki = await makePki(Number(args.citizens));
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const service = await startService(dir, port, toPem(pki.root.der, 'CERTIFICATE'));
  try {
    await driveLoginsFor(port, pki.citizens, 2);
    let total = 0;
    console.log('minute  sign-ins  total  p50_ms  p99_ms  failures  rss_MiB  heap_MiB');
    for (let minute = 1; minute <= minutes; minute++) {
      const result = await driveLogins(port, pki.citizens, 60);
      total += Math.round(result.rate * 60);
      const memory = await serviceMemory(port);
      console.log([minute, Math.round(result.rate * 60), total, result.p50.toFixed(2), result.p99.toFixed(2), result.failures, memory.rssMiB.toFixed(1), memory.heapMiB.toFixed(1)].join('  '));
    }
  } finally {
    service.kill('SIGTERM');
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

async function driveLoginsFor(port: number, citizens: Signer[], warmSeconds: number, signIn = login) {
  const deadline = performance.now() + warmSeconds * 1000;
  await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    while (performance.now() < deadline) await signIn(port, citizens[i % citizens.length] as Signer);
  }));
}

// --- Revocation registry size (issue 4) -------------------------------------------------
// Fills the registry before the service starts, as `admin import-crl` would, with serials no
// bench citizen has (random 16 octets), then measures the same sign-in load. Runs alternate
// (small, large, small, large) so drift on the machine does not pass for a difference.

async function seedRegistry(databaseUrl: string, count: number, issuer: string): Promise<number> {
  const db = await openDatabase(databaseUrl);
  const started = performance.now();
  try {
    const batch = 50_000;
    for (let done = 0; done < count; done += batch) {
      const records: RevocationRecord[] = Array.from({ length: Math.min(batch, count - done) }, () => ({
        issuer, serialHex: randomSerialHex(), reason: 'keyCompromise', revokedAt: new Date(), source: 'bench',
      }));
      await db.revocations.addMany(records);
    }
  } finally {
    await db.close();
  }
  return count / ((performance.now() - started) / 1000);
}

// 16 random octets, top bit clear so the DER contents need no sign octet.
const randomSerialHex = () => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f | 0x10;
  return bytes.toString('hex').toUpperCase();
};

/**
 * The registry's share of a sign-in on its own, less exposed to other load on the machine than
 * whole sign-ins: the one query for a citizen's path (leaf and CA), in microseconds.
 */
async function lookupMicros(databaseUrl: string, pki: Awaited<ReturnType<typeof makePki>>): Promise<number> {
  const db = await openDatabase(databaseUrl);
  try {
    const ca = parseCertificate(pki.ca.der);
    const paths = pki.citizens.map((citizen) => {
      const leaf = parseCertificate(citizen.certDer);
      return [{ issuer: leaf.issuer.canonical, serialHex: leaf.serialHex }, { issuer: ca.issuer.canonical, serialHex: ca.serialHex }];
    });
    for (let i = 0; i < 2000; i++) await db.revocations.findFirst(paths[i % paths.length] ?? []);
    const rounds = 20_000;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      if (await db.revocations.findFirst(paths[i % paths.length] ?? []) !== undefined) throw new Error('a bench citizen is revoked');
    }
    return ((performance.now() - started) * 1000) / rounds;
  } finally {
    await db.close();
  }
}

async function compareRevoked(large: number) {
  spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const pki = await makePki(Number(args.citizens));
  const issuer = parseCertificate(pki.ca.der).subject.canonical;
  const sizes = [10, large];
  const dirs = await Promise.all(sizes.map(() => mkdtemp(join(tmpdir(), 'yagona-bench-revoked-'))));
  try {
    const urls = dirs.map((dir) => `sqlite:${join(dir, 'bench.sqlite')}`);
    for (const [i, size] of sizes.entries()) {
      const rate = await seedRegistry(urls[i] as string, size, issuer);
      console.log(`registry: ${size} revoked certificates seeded (${Math.round(rate)} rows/s)`);
    }
    // Alternating rounds, the fastest of each: other load only ever slows a round down.
    const lookups = sizes.map(() => Infinity);
    for (let round = 0; round < 3; round++) {
      for (const i of sizes.keys()) lookups[i] = Math.min(lookups[i] as number, await lookupMicros(urls[i] as string, pki));
    }
    console.log(`registry lookup per sign-in (one query, leaf + CA): ${sizes.map((size, i) => `${(lookups[i] as number).toFixed(1)} µs with ${size}`).join(', ')}`);
    const labels = sizes.map((size) => `${size} revoked`);
    const rates = await alternateRounds(labels, 3, (i) => measureService(dirs[i] as string, pki));
    console.log(summary(labels, rates));
    console.log(difference(rates));
  } finally {
    agent.destroy();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** One run: a fresh service process in `dir`, warmed up, then the sign-in load; stopped after. */
async function measureService(dir: string, pki: Awaited<ReturnType<typeof makePki>>, options: Parameters<typeof startService>[3] = {}) {
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const service = await startService(dir, port, toPem(pki.root.der, 'CERTIFICATE'), options);
  try {
    await driveLoginsFor(port, pki.citizens, 2);
    return await driveLogins(port, pki.citizens);
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
  }
}

/** What the modes under scripts/bench/ share with this file. */
const harness = { args, seconds, concurrency, agent, adminEntry, makePki, request, signedChallenge, login, startService, driveLogins, driveLoginsFor, measureService, serviceMetrics };
export type Harness = typeof harness;
export type { Signer };

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
