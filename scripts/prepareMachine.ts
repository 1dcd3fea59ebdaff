// What the test suite needs from the machine, checked by `npm test` before the suite runs
// (scripts/test.ts) and, when run as root, put in place: the Debian packages of the one list
// below, Redis and PostgreSQL answering at TEST_REDIS_URL and TEST_DATABASE_URL when those are
// on this machine, the test database, and openCryptoki's slot daemon. With everything present
// it only looks (one dpkg-query, two probes, /proc): no apt, no starts. Not root, it changes
// nothing and names each missing thing on one line with the command that fixes it; the suite
// does not run, since a test skipped for a missing tool would hide a gap.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface DebianPackage {
  name: string;
  why: string;
  /** Needed only in this state (default: always). */
  when?: (state: MachineState) => boolean;
}

/** Every Debian package the suite needs: the one list. */
export const debianPackages: readonly DebianPackage[] = [
  { name: 'openssl', why: 'tests make keys, certificates and key files with the openssl command line' },
  { name: 'chromium', why: "the sign-in page tests drive Debian's Chromium (playwright-core downloads no browser)", when: (s) => !s.chromiumPathSet },
  { name: 'softhsm2', why: 'the key token tests initialise SoftHSM2 tokens' },
  { name: 'opencryptoki', why: "the PIN-lock tests use openCryptoki's soft token, which locks its PIN" },
  { name: 'libengine-gost-openssl', why: "the O'zDSt / GOST tests check our arithmetic against OpenSSL's gost engine (C, independent of ours)" },
  { name: 'nginx', why: 'test/deploy/nginx puts Debian\'s nginx in front of two instances, as deploy/nginx configures it' },
  { name: 'binutils', why: "`npm run agent:package` strips the agent's Node binary (strip) before it becomes the .deb's single executable" },
  { name: 'systemd', why: "the agent package test checks the .deb's user unit with systemd-analyze verify" },
  // The servers only when they are to run here and do not answer (another host or a running
  // server needs no package).
  { name: 'redis-server', why: 'Redis for the tests', when: (s) => s.redis.local && s.redis.status === 'down' },
  { name: 'postgresql', why: 'PostgreSQL for the tests', when: (s) => s.postgres.local && s.postgres.status === 'down' },
];

const loopback = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
// openCryptoki's lock directories; tmpfiles.d makes them at boot, which a container does not run.
const opencryptokiLockDirs = ['', 'icsf', 'swtok', 'tpm', 'lite', 'ccatok', 'ep11tok'].map((tok) => join('/var/lock/opencryptoki', tok));

export interface MachineState {
  root: boolean;
  /** Installed Debian packages among those asked about; undefined without dpkg (not Debian). */
  installed: ReadonlySet<string> | undefined;
  chromiumPathSet: boolean;
  redis: { url: string; host: string; port: number; local: boolean; status: 'ok' | 'down' | 'refuses'; detail?: string };
  postgres: {
    url: string; host: string; port: number; database: string; user: string; local: boolean;
    status: 'ok' | 'down' | 'auth' | 'no-database' | 'error'; detail?: string;
  };
  slotDaemonRunning: boolean;
  /** The user is in group pkcs11, which openCryptoki's tokens require of anyone but root. */
  inPkcs11Group: boolean;
}

export class MachineNotReady extends Error {
  override name = 'MachineNotReady';
}

export interface PrepareOptions {
  packages?: readonly DebianPackage[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Written progress: what is being installed or started. */
  log?: (line: string) => void;
}

/**
 * Makes the machine ready for the suite; resolves when it is, else throws MachineNotReady with
 * one line per missing thing. As root it installs, starts and creates what is missing first.
 */
export async function prepareMachine(options: PrepareOptions = {}): Promise<void> {
  const packages = options.packages ?? debianPackages;
  const log = options.log ?? ((line: string) => console.error(`machine: ${line}`));
  let state = await inspect(options, packages);
  if (problems(state, packages).length === 0) return;
  if (state.root) {
    await withLock(async () => {
      // Another run may have done it while this one waited for the lock.
      state = await inspect(options, packages);
      state = await fix(state, options, packages, log);
    });
  }
  const left = problems(state, packages);
  if (left.length > 0) {
    throw new MachineNotReady([...left, state.root
      ? 'the preparation could not put these in place (see above)'
      : 'run the tests as root once and they are installed and started, or fix each as above'].join('\n'));
  }
}

export async function inspect(options: PrepareOptions, packages: readonly DebianPackage[] = debianPackages): Promise<MachineState> {
  const env = options.env ?? process.env;
  const redisUrl = env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const postgresUrl = env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const redis = new URL(redisUrl);
  const postgres = new URL(postgresUrl);
  const [redisStatus, postgresStatus] = await Promise.all([
    probeRedis(redis.hostname, Number(redis.port || 6379), redis.protocol),
    probePostgres(postgresUrl),
  ]);
  const uid = process.getuid?.() ?? -1;
  return {
    root: uid === 0,
    installed: installedPackages(packages.map((p) => p.name)),
    chromiumPathSet: Boolean(env.CHROMIUM_PATH),
    redis: { url: redisUrl, host: redis.hostname, port: Number(redis.port || 6379), local: loopback.has(redis.hostname), ...redisStatus },
    postgres: {
      url: postgresUrl, host: postgres.hostname, port: Number(postgres.port || 5432),
      database: decodeURIComponent(postgres.pathname.slice(1)) || 'postgres', user: decodeURIComponent(postgres.username) || userName(),
      local: loopback.has(postgres.hostname), ...postgresStatus,
    },
    slotDaemonRunning: processRunning('pkcsslotd'),
    inPkcs11Group: uid === 0 || inGroup('pkcs11'),
  };
}

/** One line per missing thing, each with the command that fixes it. */
export function problems(state: MachineState, packages: readonly DebianPackage[] = debianPackages): string[] {
  const lines: string[] = [];
  const asRoot = state.root ? '' : 'as root: ';
  for (const p of missingPackages(state, packages)) lines.push(`${p.name} is not installed (${p.why}) — ${asRoot}apt-get install -y ${p.name}`);
  const { redis, postgres } = state;
  if (redis.status === 'down') {
    lines.push(redis.local
      ? `Redis does not answer at ${redis.url} — start it: redis-server ${redisArgs(redis.port).map((arg) => arg || '""').join(' ')}`
      : `Redis does not answer at ${redis.url} (TEST_REDIS_URL) — start it there, or point TEST_REDIS_URL at a running Redis`);
  } else if (redis.status === 'refuses') {
    lines.push(`Redis at ${redis.url} answers "${redis.detail}" — give TEST_REDIS_URL its password (redis://:PASSWORD@host:port)`);
  }
  const cluster = postgres.local && postgres.status !== 'ok' ? findCluster(postgres.port) : undefined;
  const clusterCommand = (action: string) => cluster === undefined
    ? `pg_createcluster --start VERSION main --port ${postgres.port} (no cluster on port ${postgres.port} in pg_lsclusters)`
    : `pg_ctlcluster --skip-systemctl-redirect ${cluster.version} ${cluster.name} ${action}`;
  if (!postgres.local && postgres.status !== 'ok') {
    lines.push(`PostgreSQL at ${postgres.url} (TEST_DATABASE_URL): ${postgres.detail ?? postgres.status} — fix it there, or point TEST_DATABASE_URL at a PostgreSQL that answers`);
  } else if (postgres.status === 'down') {
    lines.push(`PostgreSQL does not answer at ${postgres.url} — ${asRoot}${clusterCommand('start')}`);
  } else if (postgres.status === 'auth') {
    lines.push(`PostgreSQL at ${postgres.url} refuses ${postgres.user} without a password (${postgres.detail}) — ${asRoot}put `
      + `"${hbaLines(postgres)[1]}" first in the cluster's pg_hba.conf, then ${clusterCommand('reload')}`);
  } else if (postgres.status === 'no-database') {
    lines.push(`PostgreSQL has no database ${postgres.database} — ${asRoot}runuser -u postgres -- createdb --port ${postgres.port} --owner ${postgres.user} ${postgres.database}`);
  } else if (postgres.status === 'error') {
    lines.push(`PostgreSQL at ${postgres.url}: ${postgres.detail}`);
  }
  if (state.installed?.has('opencryptoki') === true || missingPackages(state, packages).some((p) => p.name === 'opencryptoki')) {
    if (!state.slotDaemonRunning) {
      lines.push(`openCryptoki's slot daemon pkcsslotd is not running — ${asRoot}mkdir -p /run/opencryptoki && `
        + `install -d -m 0770 -g pkcs11 ${opencryptokiLockDirs.join(' ')} && pkcsslotd`);
    }
    if (!state.inPkcs11Group) {
      lines.push(`${userName()} is not in group pkcs11, which openCryptoki's tokens require — as root: usermod -aG pkcs11 ${userName()}, then log in again`);
    }
  }
  return lines;
}

function missingPackages(state: MachineState, packages: readonly DebianPackage[]): DebianPackage[] {
  if (state.installed === undefined) return [];
  return packages.filter((p) => (p.when?.(state) ?? true) && !state.installed!.has(p.name));
}

async function fix(state: MachineState, options: PrepareOptions, packages: readonly DebianPackage[], log: (line: string) => void): Promise<MachineState> {
  const missing = missingPackages(state, packages);
  if (missing.length > 0) {
    log(`installing ${missing.map((p) => p.name).join(' ')}`);
    // A lock timeout, so runs started together (and unattended upgrades) wait for each other.
    const apt = ['-o', 'DPkg::Lock::Timeout=600', '-qq'];
    if (run('apt-get', [...apt, 'update']) && run('apt-get', [...apt, '-y', 'install', ...missing.map((p) => p.name)], { DEBIAN_FRONTEND: 'noninteractive' })) {
      state = await inspect(options, packages);
    }
  }
  if (state.redis.local && state.redis.status === 'down' && state.installed?.has('redis-server') !== false) {
    log(`starting Redis on port ${state.redis.port}`);
    mkdirSync('/var/lib/redis', { recursive: true });
    mkdirSync('/var/log/redis', { recursive: true });
    run('redis-server', [...redisArgs(state.redis.port), '--dir', '/var/lib/redis', '--logfile', `/var/log/redis/yagona-test-${state.redis.port}.log`]);
    state = await waitFor(options, packages, (s) => s.redis.status !== 'down');
  }
  const { postgres } = state;
  const cluster = postgres.local && postgres.status !== 'ok' ? findCluster(postgres.port) : undefined;
  if (cluster !== undefined && postgres.status === 'down') {
    log(`starting PostgreSQL ${cluster.version}/${cluster.name} on port ${cluster.port}`);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start']);
    state = await waitFor(options, packages, (s) => s.postgres.status !== 'down');
  }
  if (cluster !== undefined && state.postgres.status === 'auth') {
    // Debian's default asks loopback clients for a password, which the test URL has none of. A
    // test machine's setting, and only for the test database and user.
    const hba = spawnSync('runuser', ['-u', 'postgres', '--', 'psql', '--port', String(cluster.port), '-Atc', 'show hba_file'], { encoding: 'utf8', env: withSbin() }).stdout.trim();
    if (hba !== '' && existsSync(hba)) {
      log(`letting ${state.postgres.user} reach database ${state.postgres.database} over loopback without a password (${hba})`);
      const text = readFileSync(hba, 'utf8');
      const lines = hbaLines(state.postgres);
      if (!text.includes(lines[1]!)) writeFileSync(hba, `${lines.join('\n')}\n${text}`);
      run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'reload']);
      state = await waitFor(options, packages, (s) => s.postgres.status !== 'auth', 10_000);
    }
  }
  if (state.postgres.local && state.postgres.status === 'no-database') {
    log(`creating database ${state.postgres.database}`);
    run('runuser', ['-u', 'postgres', '--', 'createdb', '--port', String(state.postgres.port), '--owner', state.postgres.user, state.postgres.database]);
    state = await inspect(options, packages);
  }
  if (state.installed?.has('opencryptoki') === true && !state.slotDaemonRunning) {
    log('starting pkcsslotd');
    mkdirSync('/run/opencryptoki', { recursive: true });
    for (const dir of opencryptokiLockDirs) run('install', ['-d', '-m', '0770', '-g', 'pkcs11', dir]);
    run('pkcsslotd', []);
    state = await waitFor(options, packages, (s) => s.slotDaemonRunning, 10_000);
  }
  return state;
}

/** redis-server's arguments for a throwaway test Redis: no persistence. */
function redisArgs(port: number): string[] {
  // `-::1`: IPv6 loopback when the machine has it (the leading dash makes it optional).
  return ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', String(port), '--save', '', '--appendonly', 'no'];
}

function hbaLines(postgres: MachineState['postgres']): string[] {
  return [
    '# Yagona ID tests (scripts/prepareMachine.ts): the test database over loopback, no password.',
    `host ${postgres.database} ${postgres.user} 127.0.0.1/32 trust`,
    `host ${postgres.database} ${postgres.user} ::1/128 trust`,
  ];
}

async function waitFor(options: PrepareOptions, packages: readonly DebianPackage[], done: (state: MachineState) => boolean, ms = 30_000): Promise<MachineState> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await inspect(options, packages);
    if (done(state) || Date.now() > deadline) return state;
    await sleep(250);
  }
}

/** Runs a command (its errors on stderr, apt's and dpkg's progress dropped); false, with a line saying so, when it fails. */
function run(command: string, args: string[], env: Record<string, string> = {}): boolean {
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...withSbin(), ...env } });
  if (result.status === 0) return true;
  console.error(`machine: ${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
  return false;
}

/** PATH with the sbin folders, where pkcsslotd and runuser live, also when the caller's lacks them. */
function withSbin(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? '';
  const extra = ['/usr/local/sbin', '/usr/sbin', '/sbin'].filter((dir) => !path.split(':').includes(dir));
  return { ...process.env, PATH: [path, ...extra].filter(Boolean).join(':') };
}

/** Which of `names` dpkg has installed ("ii"); undefined where there is no dpkg-query. */
export function installedPackages(names: readonly string[]): ReadonlySet<string> | undefined {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Package}\\t${db:Status-Abbrev}\\n', ...names], { encoding: 'utf8' });
  if (result.error !== undefined) return undefined;
  // Unknown names exit 1 with a line on stderr each; the known ones are still listed.
  return new Set(result.stdout.split('\n').map((line) => line.split('\t')).filter(([, status]) => status?.startsWith('ii')).map(([name]) => name!));
}

/** A PING answered by +PONG; -NOAUTH and the like is a Redis that refuses us. */
function probeRedis(host: string, port: number, protocol: string): Promise<{ status: 'ok' | 'down' | 'refuses'; detail?: string }> {
  // rediss:// speaks TLS: left to the tests' own check, which says what is wrong.
  if (protocol !== 'redis:') return Promise.resolve({ status: 'ok' });
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (result: { status: 'ok' | 'down' | 'refuses'; detail?: string }) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2000, () => done({ status: 'down', detail: 'no answer within 2 s' }));
    socket.once('error', (error) => done({ status: 'down', detail: error.message }));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      const reply = data.toString().trim();
      done(reply === '+PONG' ? { status: 'ok' } : { status: 'refuses', detail: reply.slice(0, 200) });
    });
  });
}

async function probePostgres(url: string): Promise<{ status: MachineState['postgres']['status']; detail?: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { status: 'ok' };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const detail = error instanceof Error ? error.message || String(code) : String(error);
    if (code === '3D000') return { status: 'no-database', detail };
    // Debian's default asks for a password (SCRAM), which pg fails on before asking the server.
    if (code === '28P01' || code === '28000' || /password|SASL|SCRAM/i.test(detail)) return { status: 'auth', detail };
    // 57P03: starting up or shutting down.
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOENT', '57P03'].includes(String(code)) || /timeout|terminated/i.test(detail)) {
      return { status: 'down', detail };
    }
    return { status: 'error', detail };
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Cluster {
  version: string;
  name: string;
  port: number;
}

/** The postgresql-common cluster serving `port`, from pg_lsclusters. */
function findCluster(port: number): Cluster | undefined {
  const result = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  return result.stdout.split('\n').map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 3 && Number(fields[2]) === port)
    .map(([version, name]) => ({ version: version!, name: name!, port }))[0];
}

/** A process named `name` among /proc's (no procps needed). */
function processRunning(name: string): boolean {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // it ended while we looked
    }
  });
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'you'); // a uid without a passwd entry, as in some containers
  }
}

function inGroup(group: string): boolean {
  try {
    const entry = readFileSync('/etc/group', 'utf8').split('\n').find((line) => line.startsWith(`${group}:`));
    const gid = Number(entry?.split(':')[2]);
    return Number.isInteger(gid) && (process.getgroups?.() ?? []).includes(gid);
  } catch {
    return false;
  }
}

const lockDir = join(existsSync('/run/lock') ? '/run/lock' : '/tmp', 'yagona-prepare-machine.lock');

/** One preparing run at a time: concurrent `npm test`s would otherwise race to start the same servers. */
async function withLock(work: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!lockHolderAlive()) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new MachineNotReady(`another preparation has held ${lockDir} for 20 minutes`);
    await sleep(500);
  }
  writeFileSync(join(lockDir, 'pid'), String(process.pid));
  try {
    await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function lockHolderAlive(): boolean {
  try {
    return existsSync(`/proc/${Number(readFileSync(join(lockDir, 'pid'), 'utf8'))}`);
  } catch {
    // No pid yet: its holder is between mkdir and write, unless that was long ago (a crash).
    try {
      return Date.now() - statSync(lockDir).mtimeMs < 10_000;
    } catch {
      return false;
    }
  }
}
