// deploy/ exercised: Debian's nginx, run with deploy/nginx/yagona-id.conf (only its ports and
// file paths changed) in front of two instances started as deploy/systemd/yagona-id@.service
// starts them (its Environment, TRUST_PROXY=127.0.0.1 as the runbook says), on a Redis of
// their own. Citizens are clients on different loopback addresses (127.0.0.2, .3, …): nginx
// sees each as its own address, as it would see citizens on the Internet.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runAdmin } from '../helpers/admin.ts';
import { repoPath } from '../helpers/freshService.ts';
import { startRedis, type RedisServer } from '../helpers/redisServers.ts';
import { unlimitedRates } from '../helpers/services.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { freePort } from '../helpers/ports.ts';
import { scratchDir, startService, type ServiceProcess } from '../revocation/processes.ts';

const run = promisify(execFile);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request from `localAddress`, over TLS to nginx (trusting the test's own certificate) or plain to an instance. */
function send(url: string, options: { method?: string; body?: string; from: string; headers?: Record<string, string>; ca?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, {
      method: options.method ?? 'POST',
      localAddress: options.from,
      ...(options.ca === undefined ? {} : { ca: options.ca, servername: 'localhost' }),
      headers: { 'content-type': 'application/json', ...options.headers },
      agent: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => void (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(options.body ?? (options.method === 'GET' ? undefined : '{}'));
  });
}

/** The unit's Environment= lines (without systemd specifiers' instance, which the test sets as PORT). */
function unitEnvironment(): Record<string, string> {
  const unit = readFileSync(repoPath('deploy/systemd/yagona-id@.service'), 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].filter(([, name]) => name !== 'PORT').map(([, name, value]) => [name!, value!]));
}

describe('nginx in front of two instances (deploy/)', () => {
  let dir: string;
  let redis: RedisServer;
  let nginx: ChildProcess;
  let instances: ServiceProcess[];
  let env: Record<string, string>;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let ca: string;
  let https: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'yagona-nginx-'));
    // The TLS certificate nginx serves, made by the openssl command line.
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    redis = await startRedis();
    scratch = await scratchDir((await createTestPki()).anchors);
    env = {
      ...unlimitedRates, ...unitEnvironment(), RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1',
      REDIS_URL: redis.url, DATABASE_URL: `sqlite:${join(scratch.dir, 'yagona.sqlite')}`, TRUST_ANCHORS_DIR: scratch.trustDir,
    };
    instances = [await startService(env), await startService(env)];

    const [tlsPort, plainPort] = [await freePort(), await freePort()];
    const ports = instances.map((instance) => new URL(instance.url).port);
    const site = readFileSync(repoPath('deploy/nginx/yagona-id.conf'), 'utf8')
      .replace('server 127.0.0.1:8081', `server 127.0.0.1:${ports[0]}`)
      .replace('server 127.0.0.1:8082', `server 127.0.0.1:${ports[1]}`)
      .replace('listen 443 ssl', `listen 127.0.0.1:${tlsPort} ssl`)
      .replace('listen 80;', `listen 127.0.0.1:${plainPort};`)
      .replace('/etc/ssl/yagona-id/fullchain.pem', join(dir, 'cert.pem'))
      .replace('/etc/ssl/yagona-id/privkey.pem', join(dir, 'key.pem'));
    assert.doesNotMatch(site, /:8081|:8082|\/etc\/ssl/, 'every port and path of the file was replaced');
    writeFileSync(join(dir, 'site.conf'), site);
    for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(dir, temp));
    writeFileSync(join(dir, 'nginx.conf'), [
      'daemon off;', 'user root;', 'worker_processes 1;', `pid ${join(dir, 'nginx.pid')};`, `error_log ${join(dir, 'logs/error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {', '  access_log off;', `  client_body_temp_path ${join(dir, 'body')};`, `  proxy_temp_path ${join(dir, 'proxy')};`,
      `  fastcgi_temp_path ${join(dir, 'fastcgi')};`, `  uwsgi_temp_path ${join(dir, 'uwsgi')};`, `  scgi_temp_path ${join(dir, 'scgi')};`,
      `  include ${join(dir, 'site.conf')};`, '}', '',
    ].join('\n'));
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    nginx.stderr?.on('data', (chunk: Buffer) => void (errors += chunk.toString()));
    https = `https://127.0.0.1:${tlsPort}`;
    for (let attempt = 0; ; attempt++) {
      if (nginx.exitCode !== null || attempt > 100) throw new Error(`nginx did not start: ${errors}${readFileSync(join(dir, 'logs/error.log'), 'utf8')}`);
      const status = await send(`${https}/readyz`, { method: 'GET', from: '127.0.0.1', ca }).then((a) => a.status, () => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    nginx?.kill('SIGQUIT');
    await Promise.all((instances ?? []).map((instance) => instance.stop()));
    await redis?.remove();
    await scratch?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const challenge = (from: string, headers: Record<string, string> = {}) => send(`${https}/v1/challenges`, { from, headers, ca });

  // nginx takes turns between the instances, so each saw two of the four requests: the fourth is
  // refused only because both count into one limit.
  test('each citizen behind the proxy has a limit of their own, held across both instances', async () => {
    const first = [];
    for (let i = 0; i < 3; i++) first.push(await challenge('127.0.0.2'));
    assert.deepEqual(first.map((a) => a.status), [201, 201, 201]);
    const limited = await challenge('127.0.0.2');
    assert.equal(limited.status, 429);
    assert.match(String(limited.headers['retry-after']), /^[1-9]\d*$/);
    assert.equal((JSON.parse(limited.text) as { code: string }).code, 'rate_limited');
    assert.equal((await challenge('127.0.0.3')).status, 201, 'another citizen is not blocked');
  });

  test('a client\'s own X-Forwarded-For is dropped by nginx, and ignored from anyone but the proxy', async () => {
    // Through nginx: the header is replaced by the real address, which is at its limit.
    assert.equal((await challenge('127.0.0.2', { 'x-forwarded-for': '198.51.100.7' })).status, 429);
    // Straight to an instance, pretending to be the proxy reporting a fresh address: not believed.
    for (let i = 0; i < 3; i++) await send(`${instances[0]!.url}/v1/challenges`, { from: '127.0.0.4', headers: { 'x-forwarded-for': `198.51.100.${i}` } });
    const direct = await send(`${instances[1]!.url}/v1/challenges`, { from: '127.0.0.4', headers: { 'x-forwarded-for': '198.51.100.99' } });
    assert.equal(direct.status, 429, 'counted under 127.0.0.4, whatever the header says');
    // And the proxy's word counts: a sign-in's audit row names the address nginx saw.
    const c = JSON.parse((await challenge('127.0.0.5')).text) as { id: string };
    const rejected = await send(`${https}/v1/sessions`, { from: '127.0.0.5', body: JSON.stringify({ challengeId: c.id, format: 'cms', cms: 'AAAA' }), ca });
    assert.equal(rejected.status, 400);
    const tail = await runAdmin(['audit', 'tail', '-n', '1', '--json'], env);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /"clientAddress":\s*"127\.0\.0\.5"/);
  });

  test('the limit survives a restart of an instance (the counters are in Redis)', async () => {
    await instances[0]!.stop();
    instances[0] = await startService({ ...env, PORT: new URL(instances[0]!.url).port });
    assert.equal((await challenge('127.0.0.2')).status, 429);
    assert.equal((await challenge('127.0.0.6')).status, 201);
  });

  test('bodies: the service sees a sign-in body over 64 KiB itself; nginx stops one over 128 KiB', async () => {
    const big = (bytes: number) => JSON.stringify({ challengeId: 'x'.repeat(24), format: 'cms', cms: 'A'.repeat(bytes) });
    const overService = await send(`${https}/v1/sessions`, { from: '127.0.0.7', body: big(100_000), ca });
    assert.equal(overService.status, 413, overService.text);
    assert.equal((JSON.parse(overService.text) as { code: string }).code, 'payload_too_large');
    const overProxy = await send(`${https}/v1/sessions`, { from: '127.0.0.7', body: big(200_000), ca });
    assert.equal(overProxy.status, 413);
    assert.match(String(overProxy.headers['content-type']), /text\/html/);
  });
});
