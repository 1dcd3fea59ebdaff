// Faults under load (bounded, loopback only), on parts this test starts itself: two service
// processes on a private Redis (append-only, so a restart keeps its data) and on PostgreSQL
// behind a TCP proxy (test/helpers/tcpProxy.ts) that this test cuts. Injected in turn while
// citizens sign in: Redis stopped and started; PostgreSQL unreachable (every connection cut,
// new ones refused, as during a restart) and back; one instance SIGKILLed mid-sign-in.
// Afterwards: no session for a revoked certificate, `admin audit verify` passes, every accepted
// revocation is in the registry, and the survivors answered nothing but 503 as errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runAdmin } from '../helpers/admin.ts';
import { startRedis, type RedisServer } from '../helpers/redisServers.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { postgresDatabase, scratchDir, startService, type ServiceProcess } from '../revocation/processes.ts';

let pki: TestPki;
let redis: RedisServer;
let database: Awaited<ReturnType<typeof postgresDatabase>>;
let proxy: TcpProxy;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let instances: ServiceProcess[];
let env: Record<string, string>;

before(async () => {
  pki = await createTestPki();
  redis = await startRedis({ extra: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  database = await postgresDatabase();
  proxy = await startTcpProxy(database.url, 5432);
  scratch = await scratchDir(pki.anchors);
  env = { REDIS_URL: redis.url, DATABASE_URL: proxy.url, TRUST_ANCHORS_DIR: scratch.trustDir, ISSUER_URL: 'http://yagona.test' };
  instances = [await startService(env), await startService(env)];
});
after(async () => {
  await Promise.all((instances ?? []).map((instance) => instance.stop()));
  await proxy?.close();
  await redis?.remove();
  await database?.drop();
  await scratch?.cleanup();
});

interface Outcome {
  instance: number;
  citizen: number;
  /** 0: no HTTP answer (the connection failed). */
  status: number;
  code?: string;
  revokedBefore: boolean;
  token?: string;
}

async function signIn(url: string, citizen: Citizen): Promise<{ status: number; code?: string; token?: string }> {
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  try {
    const c = await post('/v1/challenges', {});
    if (c.status !== 201) return { status: c.status, code: ((await c.json()) as { code: string }).code };
    const { id, challenge } = (await c.json()) as { id: string; challenge: string };
    const res = await post('/v1/sessions', cmsBody(citizen, id, challenge));
    const body = (await res.json()) as { code?: string; accessToken?: string };
    return { status: res.status, ...(body.code === undefined ? {} : { code: body.code }), ...(body.accessToken === undefined ? {} : { token: body.accessToken }) };
  } catch {
    return { status: 0 };
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const caDn = 'CN=Test Citizen CA,O=Yagona Test,C=UZ';

test('Redis stopped and started, PostgreSQL cut and back, an instance killed: nothing lost, only 503s', async () => {
  const citizens = await Promise.all(Array.from({ length: 6 }, () => pki.citizen()));
  const revoked = new Set<Citizen>();
  const accepted: Citizen[] = [];
  const outcomes: Outcome[] = [];
  const killed = new Set<number>();
  let running = true;

  /**
   * `admin revoke` through the proxy, as an operator would: accepted when it says the registry
   * has it (with Redis down it still does, and says the sessions end at the next poll); refused
   * while PostgreSQL is unreachable, and then the certificate is not revoked at all.
   */
  const attempted: Citizen[] = [];
  const revoke = async (citizen: Citizen) => {
    attempted.push(citizen);
    const run = await runAdmin(['revoke', '--serial', citizen.serialHex, '--issuer', caDn, '--reason', 'keyCompromise', '--yes'], env);
    if (run.code === 0 || /the revocation is recorded in the registry/.test(run.stderr)) {
      accepted.push(citizen);
      revoked.add(citizen);
    }
  };

  const load = Promise.all(citizens.map(async (citizen, worker) => {
    for (let i = 0; i < 300 && running; i++) {
      const instance = (worker + i) % instances.length;
      const revokedBefore = revoked.has(citizen);
      const result = await signIn(instances[instance]!.url, citizen);
      outcomes.push({ instance, citizen: worker, revokedBefore, ...result });
      if (result.status !== 201) await pause(50);
    }
  }));

  try {
    await pause(500);
    await revoke(citizens[0]!);
    // Redis: stopped for a second, then started again with its data.
    await redis.stop();
    await revoke(citizens[1]!);
    await pause(1000);
    await redis.start();
    await pause(1500);
    // PostgreSQL: every connection cut and new ones refused for a second, as a restart does.
    proxy.fault = { kind: 'refuse' };
    proxy.cut();
    await revoke(citizens[2]!);
    await pause(1000);
    proxy.fault = { kind: 'none' };
    await pause(1500);
    await revoke(citizens[3]!);
    // One instance dies mid-sign-in: the load is in flight on both.
    killed.add(0);
    await instances[0]!.kill();
    await pause(1500);
  } finally {
    running = false;
    await load;
  }

  const survivorErrors = outcomes.filter((o) => !killed.has(o.instance) && o.status !== 201 && !(o.status === 403 && o.code === 'certificate_revoked') && o.status !== 503);
  assert.deepEqual(survivorErrors, [], 'survivors answered 201, 403 certificate_revoked or 503 only');
  const killedErrors = outcomes.filter((o) => killed.has(o.instance) && ![0, 201, 503].includes(o.status) && o.code !== 'certificate_revoked');
  assert.deepEqual(killedErrors, [], 'the killed instance answered nothing else before it died');
  assert.deepEqual(outcomes.filter((o) => o.revokedBefore && o.status === 201), [], 'no sign-in accepted once its certificate was revoked');

  // No session stands for a revoked certificate, whenever it was made.
  const tokensOfRevoked = outcomes.filter((o) => o.token !== undefined && revoked.has(citizens[o.citizen]!)).map((o) => o.token!);
  for (const token of tokensOfRevoked) {
    const res = await fetch(`${instances[1]!.url}/v1/sessions/current`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401, 'the session of a revoked certificate is refused');
  }

  const registry = await runAdmin(['revocations', '--json'], env);
  assert.equal(registry.code, 0, registry.stderr);
  for (const citizen of accepted) assert.match(registry.stdout, new RegExp(citizen.serialHex, 'i'), 'every accepted revocation is in the registry');
  const verify = await runAdmin(['audit', 'verify', '--json'], env);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);

  const count = (filter: (o: Outcome) => boolean) => outcomes.filter(filter).length;
  process.stdout.write(`# faults: ${outcomes.length} sign-ins; accepted ${count((o) => o.status === 201)}, 503 ${count((o) => o.status === 503)}, revoked-refused ${count((o) => o.code === 'certificate_revoked')}, no answer (killed instance) ${count((o) => o.status === 0)}; revocations accepted ${accepted.length} of ${attempted.length} attempted (refused while PostgreSQL was cut), all in the registry; ${tokensOfRevoked.length} sessions of revoked certificates, all refused now; audit chain verified\n`);
});
