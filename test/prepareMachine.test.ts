// The machine preparation `npm test` runs first (scripts/prepareMachine.ts): what it counts as
// missing, and the one line per missing thing it gives someone who is not root. Its installing
// and starting are not exercised here — the suite cannot uninstall what other runs use; see
// README ("Two commands") for how that part was checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { debianPackages, inspect, installedPackages, problems, type MachineState } from '../scripts/prepareMachine.ts';

const ready: MachineState = {
  root: false,
  installed: new Set(debianPackages.map((p) => p.name)),
  chromiumPathSet: false,
  redis: { url: 'redis://127.0.0.1:6379', host: '127.0.0.1', port: 6379, local: true, status: 'ok' },
  postgres: { url: 'postgres://postgres@127.0.0.1:1/test', host: '127.0.0.1', port: 1, database: 'test', user: 'postgres', local: true, status: 'ok' },
  slotDaemonRunning: true,
  inPkcs11Group: true,
};

test('dpkg tells an installed package from one that is not', () => {
  const installed = installedPackages(['openssl', 'yagona-no-such-package']);
  assert.ok(installed !== undefined, 'the suite runs on Debian (dpkg-query)');
  assert.ok(installed.has('openssl'));
  assert.ok(!installed.has('yagona-no-such-package'));
});

test('a package missing from this machine is named with the command that installs it', async () => {
  const packages = [{ name: 'openssl', why: 'present' }, { name: 'yagona-no-such-package', why: 'a name no archive has' }];
  const state = await inspect({}, packages);
  const lines = problems(state, packages).filter((line) => line.includes('is not installed'));
  assert.deepEqual(lines, [`yagona-no-such-package is not installed (a name no archive has) — ${state.root ? '' : 'as root: '}apt-get install -y yagona-no-such-package`]);
});

test('nothing missing: no lines', () => {
  assert.deepEqual(problems(ready), []);
});

test('not root, nothing there: one line per missing thing, each with the command that fixes it', () => {
  const bare: MachineState = {
    ...ready,
    installed: new Set(),
    redis: { ...ready.redis, status: 'down' },
    postgres: { ...ready.postgres, status: 'down' },
    slotDaemonRunning: false,
    inPkcs11Group: false,
  };
  const lines = problems(bare);
  for (const name of ['openssl', 'chromium', 'softhsm2', 'opencryptoki', 'libengine-gost-openssl', 'nginx', 'binutils', 'systemd', 'redis-server', 'postgresql']) {
    assert.ok(lines.some((line) => line.startsWith(`${name} is not installed (`) && line.endsWith(`— as root: apt-get install -y ${name}`)), name);
  }
  assert.ok(lines.some((line) => line.startsWith('Redis does not answer at redis://127.0.0.1:6379 — start it: redis-server --daemonize yes')));
  assert.ok(lines.some((line) => line.startsWith('PostgreSQL does not answer at postgres://postgres@127.0.0.1:1/test — as root: pg_createcluster')));
  assert.ok(lines.some((line) => line.startsWith("openCryptoki's slot daemon pkcsslotd is not running — as root: mkdir -p /run/opencryptoki")));
  assert.ok(lines.some((line) => /is not in group pkcs11, .* usermod -aG pkcs11 /.test(line)));
  assert.equal(lines.length, 14);
  assert.ok(lines.every((line) => !line.includes('\n')));
});

test('servers elsewhere need no package here; a Redis that wants a password is said so', () => {
  const remote: MachineState = {
    ...ready,
    installed: new Set(debianPackages.map((p) => p.name).filter((name) => name !== 'redis-server' && name !== 'postgresql')),
    redis: { ...ready.redis, url: 'redis://cache.example:6379', host: 'cache.example', local: false, status: 'down' },
    postgres: { ...ready.postgres, url: 'postgres://postgres@db.example/test', host: 'db.example', local: false, status: 'down', detail: 'connect ECONNREFUSED' },
  };
  assert.deepEqual(problems(remote), [
    'Redis does not answer at redis://cache.example:6379 (TEST_REDIS_URL) — start it there, or point TEST_REDIS_URL at a running Redis',
    'PostgreSQL at postgres://postgres@db.example/test (TEST_DATABASE_URL): connect ECONNREFUSED — fix it there, or point TEST_DATABASE_URL at a PostgreSQL that answers',
  ]);
  assert.deepEqual(problems({ ...ready, redis: { ...ready.redis, status: 'refuses', detail: '-NOAUTH Authentication required.' } }), [
    'Redis at redis://127.0.0.1:6379 answers "-NOAUTH Authentication required." — give TEST_REDIS_URL its password (redis://:PASSWORD@host:port)',
  ]);
});

test('a PostgreSQL asking for a password, or without the test database, is named with its fix', () => {
  const auth = problems({ ...ready, postgres: { ...ready.postgres, status: 'auth', detail: 'password authentication failed' } });
  assert.equal(auth.length, 1);
  assert.match(auth[0]!, /refuses postgres without a password \(password authentication failed\) — as root: put "host test postgres 127\.0\.0\.1\/32 trust" first in the cluster's pg_hba\.conf/);
  assert.deepEqual(problems({ ...ready, postgres: { ...ready.postgres, status: 'no-database' } }), [
    'PostgreSQL has no database test — as root: runuser -u postgres -- createdb --port 1 --owner postgres test',
  ]);
});
