// The agent as a citizen installs it: `npm run agent:package` builds the .deb, the service offers
// it on the sign-in page, Chromium downloads it, `dpkg -i` installs it, the agent starts the way
// its user unit says (this machine has no systemd user session: the unit is checked with
// systemd-analyze and its ExecStart run with its environment), a sign-in with a SoftHSM2 token
// goes through the installed agent, and `dpkg -r` leaves nothing running. As root, like CI.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { after, before, test } from 'node:test';
import { debFileName, debPackageName, installedExecutable } from '../../agent/package/deb.ts';
import { agentVersion } from '../../src/token/agentRelease.ts';
import { originOf } from '../../src/login/originBinding.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { softhsmModule, softTokenCitizen, type SoftToken } from '../helpers/softhsm.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { startOidcApp } from '../oidc/helpers.ts';
import { alertText, atKeyStep, launchChromium, startAgency, type Agency, type ChromiumSession } from '../page/helpers.ts';
import { hold } from '../helpers/exclusive.ts';

const root = new URL('../..', import.meta.url).pathname;
const unitPath = '/usr/lib/systemd/user/yagona-agent.service';
const enabledLink = '/etc/systemd/user/default.target.wants/yagona-agent.service';

let token: SoftToken;
let database: TestDatabase;
let app: TestApp;
let agency: Agency;
let chromium: ChromiumSession;
let dir: string;
let agentProcess: ChildProcess | undefined;
/** Whether this file holds the port and the package (another holder's package is not ours to remove). */
let holding = false;

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the package test installs a .deb with dpkg -i: run it as root (CI does)');
  const pki = await createTestPki();
  ({ token } = await softTokenCitizen(pki, 'Installed agent token', 'CN=Deb Citizen,1.2.860.3.16.1.2=31201990000099,C=UZ'));
  dir = mkdtempSync(join(tmpdir(), 'yagona-agent-deb-'));
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki, env: { AGENT_DOWNLOADS_DIR: join(dir, 'downloads') } });
  agency = await startAgency(app, dir);
  chromium = await launchChromium();
});

after(async () => {
  agentProcess?.kill('SIGKILL');
  if (holding && installed()) dpkg('-P', debPackageName);
  await chromium?.close();
  await agency?.close();
  await app?.close();
  await database?.cleanup();
  token?.remove();
  rmSync(dir, { recursive: true, force: true });
});

test('the .deb: built, offered and downloaded from the page, installed with dpkg -i, signs in with a token; dpkg -r leaves nothing running', async (t) => {
  // Built as an operator builds it for this service.
  const started = Date.now();
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'agent/package/build.ts', '--origin', app.url, '--out', join(dir, 'downloads')], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  const made = JSON.parse(build.stdout.trim().split('\n').at(-1) ?? '{}') as { file: string; bytes: number; sha256: string };
  assert.equal(made.file, join(dir, 'downloads', debFileName(agentVersion)));
  t.diagnostic(`built ${made.bytes} bytes in ${Date.now() - started} ms`);

  // Port 47447 is the agent's, fixed: the page calls it and the installed agent listens on it;
  // and the package is installed machine-wide. Built first, so that runs while another file
  // holds them.
  await hold('agent-port');
  holding = true;
  // A package left by an interrupted run would be an upgrade, not an install.
  if (installed()) dpkg('-P', debPackageName);
  // The citizen: no agent yet, so the page offers the package.
  const page = await chromium.context.newPage();
  await page.goto(`${agency.url}/login`);
  await page.waitForURL(new RegExp(`^${app.url}/login/`));
  await atKeyStep(page);
  await page.locator('#method-token').click();
  await page.locator('#token-find').click();
  assert.match(await alertText(page), /agenti topilmadi/);
  const link = page.locator('#token-install a.download');
  assert.match((await link.textContent()) ?? '', /^Linux \(Debian, Ubuntu\) uchun yuklab olish — \.deb, \d+ MB$/);
  const steps = (await page.locator('#token-install ol.steps').textContent()) ?? '';
  assert.ok(steps.includes(`sudo apt install ./${debFileName(agentVersion)}`), steps);
  assert.ok(steps.includes('systemctl --user start yagona-agent'), steps);
  assert.equal(await page.locator('#token-install .checksum code').textContent(), made.sha256);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), debFileName(agentVersion));
  const downloaded = join(dir, download.suggestedFilename());
  await download.saveAs(downloaded);
  assert.equal(createHash('sha256').update(readFileSync(downloaded)).digest('hex'), made.sha256, 'the served file is the built one');

  dpkg('-i', downloaded);
  assert.ok(installed());
  assert.equal(readlinkSync(enabledLink), unitPath, 'enabled for every user: it starts with their session');
  const verify = spawnSync('systemd-analyze', ['verify', '--user', unitPath], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir() } });
  assert.equal(verify.status, 0, `systemd-analyze verify: ${verify.stderr}`);

  // The citizen's own settings: their token's module (and SoftHSM2's configuration, which a real
  // module does not need), in the file the unit reads after the package's.
  const configHome = join(dir, 'config');
  mkdirSync(join(configHome, 'yagona-agent'), { recursive: true });
  writeFileSync(join(configHome, 'yagona-agent', 'agent.env'), `YAGONA_AGENT_MODULE=${softhsmModule}\nSOFTHSM2_CONF=${token.conf}\n`);
  const listening = await startAsTheUnitSays(configHome);
  assert.equal(listening, `yagona-agent ${agentVersion} listening on http://127.0.0.1:47447 for ${originOf(app.url)}; module ${softhsmModule}`);

  await page.locator('#token-find').click();
  await page.locator('#token-certificates .identity').waitFor();
  assert.equal(await page.locator('#token-install').isHidden(), true, 'the install help goes once the agent answers');
  await page.locator('#token-pin').fill(token.pin);
  await page.locator('#token-sign').click();
  await page.waitForURL(`${agency.url}/`);
  assert.equal(await page.locator('#name').textContent(), 'Deb Citizen');
  await page.close();

  // Removal stops the running agent and takes the package's files and enablement with it.
  const exited = new Promise((resolve) => agentProcess?.once('exit', resolve));
  dpkg('-r', debPackageName);
  await exited;
  assert.deepEqual(runningAgents(), [], 'no agent runs after dpkg -r');
  for (const path of [installedExecutable, '/usr/bin/yagona-agent', unitPath, enabledLink]) assert.equal(existsSync(path), false, `${path} after dpkg -r`);
  assert.equal(existsSync('/etc/yagona-agent/agent.env'), true, 'dpkg -r keeps the conffile');
  dpkg('-P', debPackageName);
  assert.equal(existsSync('/etc/yagona-agent'), false, 'dpkg -P removes the settings');
  assert.equal(installed(), false);
});

function installed(): boolean {
  const status = spawnSync('dpkg-query', ['-W', '-f', '${Status}', debPackageName], { encoding: 'utf8' });
  return status.status === 0 && status.stdout.includes('install ok installed');
}

/** dpkg as the citizen runs it; waits while another dpkg on this machine holds its lock. */
function dpkg(...args: string[]): void {
  for (let attempt = 0; ; attempt += 1) {
    const run = spawnSync('dpkg', args, { encoding: 'utf8' });
    if (run.status === 0) return;
    if (!/lock/i.test(run.stderr) || attempt === 60) assert.fail(`dpkg ${args.join(' ')}: ${run.stderr}`);
    spawnSync('sleep', ['1']);
  }
}

function runtimeDir(): string {
  const path = join(dir, 'runtime');
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return path;
}

/**
 * Starts ExecStart of the installed unit with the environment the unit gives it: its
 * Environment= lines, then each EnvironmentFile= in order (a leading "-": may be missing), %E
 * being the user's configuration folder. Resolves with the agent's first line.
 */
async function startAsTheUnitSays(configHome: string): Promise<string> {
  const unit = readFileSync(unitPath, 'utf8');
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((match) => (match[1] ?? '').replaceAll('%E', configHome));
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: configHome };
  for (const assignment of values('Environment')) {
    const [key, ...rest] = assignment.split('=');
    env[key as string] = rest.join('=');
  }
  for (const file of values('EnvironmentFile')) {
    const optional = file.startsWith('-');
    const path = optional ? file.slice(1) : file;
    if (!existsSync(path)) {
      assert.ok(optional, `the unit's EnvironmentFile ${path} is missing`);
      continue;
    }
    Object.assign(env, parseEnv(readFileSync(path, 'utf8')));
  }
  const [command, ...args] = (values('ExecStart')[0] ?? '').split(' ');
  assert.equal(command, installedExecutable);
  const child = spawn(command as string, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  agentProcess = child;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.once('exit', (code) => reject(new Error(`the installed agent exited (${code}): ${err}`)));
  });
}

/** Processes running the package's executable, found by their exact executable path. */
function runningAgents(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`).startsWith(installedExecutable);
    } catch {
      return false;
    }
  });
}
