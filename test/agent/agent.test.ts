// Key tokens end to end with a real PKCS#11 token: SoftHSM2 initialised here, an EC P-256 and an
// RSA-2048 key generated on it (sensitive, non-extractable), their certificates issued by the
// test CA and stored beside them. The agent signs; the real app (Redis + PostgreSQL) accepts,
// with the token's higher acr/amr; and every refusal says why: foreign origin, relayed
// challenge, wrong PIN, busy token, no module, token removed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startAgent, type Agent } from '../../agent/server.ts';
import { runAdmin } from '../helpers/admin.ts';
import { bindToOrigin, originOf } from '../../src/login/originBinding.ts';
import { signCms } from '../../src/pki/issue/cmsSign.ts';
import { oid } from '../../src/pki/asn1/derWrite.ts';
import { openTokenModule } from '../../src/token/pkcs11.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { certifyTokenKey, qualifiedCa, createSoftToken, emptySoftHsmConf, softhsmModule, type SoftToken } from '../helpers/softhsm.ts';
import { createTestPki, type Authority, type TestPki } from '../helpers/testPki.ts';
import { expectRefusal } from '../helpers/signInChecks.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

interface Listed {
  id: string;
  subject: string;
  keyType: string;
  label: string;
}

let pki: TestPki;
let qca: Authority;
let token: SoftToken;
let database: TestDatabase;
let app: TestApp;
let agent: Agent;
let appOrigin: string;
const keys: Record<'ec' | 'rsa', { keyId: string; subject: string }> = { ec: { keyId: '', subject: '' }, rsa: { keyId: '', subject: '' } };
const otherOrigin = 'https://other-service.example';

before(async () => {
  pki = await createTestPki();
  qca = await qualifiedCa(pki);
  token = createSoftToken();
  for (const [name, kind] of [['ec', 'ec-p256'], ['rsa', 'rsa-2048']] as const) {
    const generated = token.generateKey(kind, `${name} sign-in key`);
    const subject = `CN=Token Citizen ${name.toUpperCase()},SN=Rashidova,GN=Malika,1.2.860.3.16.1.2=4150390027001${name === 'ec' ? 1 : 2},C=UZ`;
    token.storeCertificate(await certifyTokenKey(qca, generated.publicKey, subject), `${name} certificate`, generated.keyId);
    keys[name] = { keyId: generated.keyId, subject };
  }
  // Tokens from a CA carry its certificate too; the agent sends it along as the chain.
  token.storeCertificate(qca.certDer, 'Test Qualified Citizen CA');
  database = await openTestDatabase('postgres');
  app = await startTestApp({ store: 'redis', database, pki, realIssuer: true });
  appOrigin = originOf(app.url);
  agent = await startAgent({ module: openTokenModule(softhsmModule), origins: [appOrigin], port: 0 });
});

after(async () => {
  await agent?.close();
  await app?.close();
  await database?.cleanup();
  token?.remove();
});

/** One HTTP exchange with the agent, with the headers a browser would send (Origin, Host). */
function call(target: Agent, method: string, path: string, options: { origin?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const url = new URL(path, target.url);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: {
        ...(options.origin === undefined ? {} : { origin: options.origin }),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function listed(target = agent, origin = appOrigin): Promise<Listed[]> {
  const reply = await call(target, 'GET', '/v1/certificates', { origin });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.certificates as Listed[];
}

async function certificateId(name: 'ec' | 'rsa'): Promise<string> {
  const found = (await listed()).find((c) => c.id.endsWith(`:${keys[name].keyId}`));
  assert.ok(found, `${name} certificate listed`);
  return found.id;
}

async function newChallenge(): Promise<{ id: string; challenge: string }> {
  const res = await app.post('/v1/challenges', {});
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; challenge: string };
}

async function agentSign(certificate: string, challenge: string, pin = token.pin, target = agent, origin = appOrigin): Promise<Reply> {
  return call(target, 'POST', '/v1/sign', { origin, body: { certificate, pin, challenge } });
}

/** The reject invariant (docs/security-cases.md R1–R3): code, no session, one failure audit event, challenge gone. */
async function expectServiceRejects(body: Record<string, unknown> & { challengeId: string }, code: string): Promise<string> {
  return (await expectRefusal(app, () => app.post('/v1/sessions', body), 403, code, body)).detail;
}

async function sessionOf(body: Record<string, unknown>): Promise<{ amr: string[]; acr: string; subject: { commonName?: string } }> {
  const res = await app.post('/v1/sessions', body);
  assert.equal(res.status, 201, await res.clone().text());
  const { accessToken } = (await res.json()) as { accessToken: string };
  const current = await app.get('/v1/sessions/current', { authorization: `Bearer ${accessToken}` });
  assert.equal(current.status, 200);
  return (await current.json()) as { amr: string[]; acr: string; subject: { commonName?: string } };
}

describe('the token', () => {
  test('keys were generated on the token and cannot be read out of it', () => {
    for (const name of ['ec', 'rsa'] as const) {
      assert.deepEqual(token.privateKeyAttributes(keys[name].keyId), { sensitive: true, extractable: false, valueReadable: false });
    }
  });
});

describe('signing through the agent', () => {
  test('lists the token and its two signing certificates, not the CA certificate', async () => {
    const reply = await call(agent, 'GET', '/v1/certificates', { origin: appOrigin });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-allow-origin'], appOrigin);
    const tokens = reply.body.tokens as Array<{ label: string; pinLocked: boolean }>;
    assert.deepEqual(tokens.map((t) => t.label), [token.label]);
    const certificates = reply.body.certificates as Listed[];
    // The agent names the PINFL attribute as the service does (src/pki/x509/name.ts).
    const expected = [keys.ec.subject, keys.rsa.subject].map((s) => s.replace('1.2.860.3.16.1.2=', 'PINFL='));
    assert.deepEqual(certificates.map((c) => c.subject).sort(), expected.sort());
    assert.deepEqual(certificates.map((c) => c.keyType).sort(), ['ec', 'rsa']);
  });

  for (const name of ['ec', 'rsa'] as const) {
    test(`${name === 'ec' ? 'EC P-256' : 'RSA-2048'}: the agent signs the origin-bound challenge and the service accepts it with acr high, amr hwk+pin`, async () => {
      const c = await newChallenge();
      const signed = await agentSign(await certificateId(name), c.challenge);
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      assert.equal(signed.body.origin, appOrigin);
      // The content travels attached: the framed challenge naming our origin.
      const cms = Buffer.from(signed.body.cms as string, 'base64');
      assert.ok(cms.includes(Buffer.from(bindToOrigin(appOrigin, c.challenge))), 'the framed challenge is inside the CMS');
      // The agent's answer goes to the service as it is, `origin` included (README: "unchanged").
      const session = await sessionOf({ challengeId: c.id, ...signed.body });
      assert.equal(session.acr, 'urn:yagona:loa:high');
      assert.deepEqual(session.amr, ['hwk', 'pin', 'pop']);
      assert.equal(session.subject.commonName, `Token Citizen ${name.toUpperCase()}`);
      const audit = (await app.db.audit.tail(1)).at(-1);
      assert.equal(audit?.outcome, 'success');
      assert.equal(audit?.details?.acr, 'urn:yagona:loa:high', 'the audit trail tells a token sign-in');
    });
  }

  test('answers the CORS and Private Network Access preflight for the trusted origin only', async () => {
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type', 'access-control-request-private-network': 'true' };
    const trusted = await call(agent, 'OPTIONS', '/v1/sign', { origin: appOrigin, headers: preflight });
    assert.equal(trusted.status, 204);
    assert.equal(trusted.headers['access-control-allow-origin'], appOrigin);
    assert.equal(trusted.headers['access-control-allow-private-network'], 'true');
    assert.match(String(trusted.headers['access-control-allow-headers']), /content-type/);
    const foreign = await call(agent, 'OPTIONS', '/v1/sign', { origin: 'https://evil.example', headers: preflight });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    assert.equal(foreign.headers['access-control-allow-private-network'], undefined);
  });

  test('a foreign origin is refused on every request, before the token is touched', async () => {
    const c = await newChallenge();
    const id = await certificateId('ec');
    for (const [method, path, body] of [['GET', '/v1/certificates', undefined], ['GET', '/v1/status', undefined], ['POST', '/v1/sign', { certificate: id, pin: token.pin, challenge: c.challenge }]] as const) {
      const reply = await call(agent, method, path, { origin: 'https://evil.example', ...(body === undefined ? {} : { body }) });
      assert.equal(reply.status, 403, `${method} ${path}`);
      assert.equal(reply.body.code, 'origin_forbidden');
      assert.equal(reply.headers['access-control-allow-origin'], undefined, 'no CORS headers for a foreign origin');
      assert.equal(reply.body.cms, undefined);
    }
    // A look-alike of our origin is another origin.
    const lookAlike = await agentSign(id, c.challenge, token.pin, agent, appOrigin.replace('127.0.0.1', 'localhost'));
    assert.equal(lookAlike.body.code, 'origin_forbidden');
  });

  test('requests without an Origin, or under a Host other than the loopback (DNS rebinding), are refused', async () => {
    const noOrigin = await call(agent, 'GET', '/v1/certificates');
    assert.equal(noOrigin.status, 403);
    assert.equal(noOrigin.body.code, 'origin_forbidden');
    const rebound = await call(agent, 'GET', '/v1/certificates', { origin: appOrigin, headers: { host: `attacker.example:${new URL(agent.url).port}` } });
    assert.equal(rebound.status, 403);
    assert.equal(rebound.body.code, 'host_forbidden');
  });

  test('signs sign-in challenges only, not arbitrary text, and only from a JSON body (which needs the preflight)', async () => {
    const reply = await agentSign(await certificateId('ec'), 'I owe the bearer 1000 000 som');
    assert.equal(reply.status, 400);
    assert.equal(reply.body.code, 'invalid_request');
    // A form or text/plain POST is what a page can send without a preflight: refused.
    const c = await newChallenge();
    const simple = await call(agent, 'POST', '/v1/sign', {
      origin: appOrigin, headers: { 'content-type': 'text/plain' },
      body: { certificate: await certificateId('ec'), pin: token.pin, challenge: c.challenge },
    });
    assert.equal(simple.status, 400);
    assert.equal(simple.body.code, 'invalid_request');
    assert.equal(simple.body.cms, undefined);
  });
});

describe('what the service accepts', () => {
  test('a challenge relayed through another origin is refused, whatever origin the answer states: challenge_invalid (docs/security-cases.md §E 77)', async () => {
    // An agent that trusts another site (a phishing page the citizen was tricked into adding, or
    // another service): it signs our challenge faithfully, naming that site.
    const relayAgent = await startAgent({ module: openTokenModule(softhsmModule), origins: [otherOrigin], port: 0 });
    try {
      const c = await newChallenge();
      const relayed = await agentSign(await certificateId('ec'), c.challenge, token.pin, relayAgent, otherOrigin);
      assert.equal(relayed.status, 200);
      const detail = await expectServiceRejects({ challengeId: c.id, format: 'cms', cms: relayed.body.cms }, 'challenge_invalid');
      assert.match(detail, /another origin/);
      assert.match(detail, /other-service\.example/);
      // The answer's own `origin` key never overrides the signed one, even restated as ours.
      const again = await newChallenge();
      const restated = await agentSign(await certificateId('ec'), again.challenge, token.pin, relayAgent, otherOrigin);
      assert.equal(restated.body.origin, otherOrigin);
      await expectServiceRejects({ challengeId: again.id, ...restated.body, origin: appOrigin }, 'challenge_invalid');
    } finally {
      await relayAgent.close();
    }
  });

  test('origin-bound content around a different challenge is signature_invalid', async () => {
    const wanted = await newChallenge();
    const other = await newChallenge();
    const signed = await agentSign(await certificateId('rsa'), other.challenge);
    assert.equal(signed.status, 200);
    await expectServiceRejects({ challengeId: wanted.id, format: 'cms', cms: signed.body.cms } as { challengeId: string }, 'signature_invalid');
  });

  test('key files keep their level: framing the challenge does not make a key file a token', async () => {
    const citizen = await pki.citizen();
    for (const framed of [false, true]) {
      const c = await newChallenge();
      const content = framed ? bindToOrigin(appOrigin, c.challenge) : c.challenge;
      const cms = signCms({ content: new TextEncoder().encode(content), signerCertDer: citizen.certDer, extraCertDers: citizen.chain, privateKey: citizen.privateKey, detached: !framed });
      const session = await sessionOf({ challengeId: c.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
      assert.equal(session.acr, 'urn:yagona:loa:substantial');
      assert.deepEqual(session.amr, ['pop', 'swk']);
    }
  });

  test('a QSCD policy the path is not valid for (its CA does not assert it) grants nothing: key-file level', async () => {
    const module = openTokenModule(softhsmModule);
    const stray = token.generateKey('ec-p256', 'stray key');
    // The ordinary citizen CA asserts no policy: RFC 5280 policy processing drops the leaf's.
    token.storeCertificate(await certifyTokenKey(pki.ca, stray.publicKey, 'CN=Stray Claim,C=UZ'), 'stray', stray.keyId);
    token.storeCertificate(pki.ca.certDer, 'Test Citizen CA');
    const c = await newChallenge();
    const content = new TextEncoder().encode(bindToOrigin(appOrigin, c.challenge));
    const cms = await module.signCms({ certificateId: `${token.slot}:${stray.keyId}`, pin: token.pin, content });
    const session = await sessionOf({ challengeId: c.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
    assert.equal(session.acr, 'urn:yagona:loa:substantial');
    assert.deepEqual(session.amr, ['pop', 'swk']);
  });

  test('EC P-384 on the token: ECDSA over SHA-384, accepted at the token level', async () => {
    const module = openTokenModule(softhsmModule);
    const key = token.generateKey('ec-p384', 'p-384 key');
    token.storeCertificate(await certifyTokenKey(qca, key.publicKey, 'CN=Token Citizen P384,C=UZ'), 'p-384', key.keyId);
    const c = await newChallenge();
    const content = new TextEncoder().encode(bindToOrigin(appOrigin, c.challenge));
    const cms = await module.signCms({ certificateId: `${token.slot}:${key.keyId}`, pin: token.pin, content });
    // ecdsa-with-SHA384 (1.2.840.10045.4.3.3) names the signature inside the CMS.
    assert.ok(Buffer.from(cms).includes(Buffer.from(oid('1.2.840.10045.4.3.3'))));
    const session = await sessionOf({ challengeId: c.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
    assert.equal(session.acr, 'urn:yagona:loa:high');
  });

  test('a token certificate signing the bare challenge (no origin) proves the hardware key, but only substantial', async () => {
    const module = openTokenModule(softhsmModule);
    const c = await newChallenge();
    const cms = await module.signCms({ certificateId: await certificateId('ec'), pin: token.pin, content: new TextEncoder().encode(c.challenge) });
    const session = await sessionOf({ challengeId: c.id, format: 'cms', cms: Buffer.from(cms).toString('base64') });
    assert.deepEqual(session.amr, ['hwk', 'pin', 'pop']);
    assert.equal(session.acr, 'urn:yagona:loa:substantial');
  });
});

describe('token errors', () => {
  test('a wrong PIN is pin_incorrect with the token\'s PIN state; the right PIN still signs', async () => {
    const id = await certificateId('ec');
    const c = await newChallenge();
    const wrong = await agentSign(id, c.challenge, '000000');
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'pin_incorrect');
    assert.equal(wrong.body.pinCountLow, true, 'the token counts the failed try');
    assert.equal(wrong.headers['access-control-allow-origin'], appOrigin, 'the page can read why');
    const right = await agentSign(id, c.challenge);
    assert.equal(right.status, 200);
    const tokens = (await call(agent, 'GET', '/v1/certificates', { origin: appOrigin })).body.tokens as Array<{ pinCountLow: boolean }>;
    assert.equal(tokens[0]?.pinCountLow, false, 'a good login clears the count');
  });

  test('a second request while one is pending is refused as busy; the first completes', async () => {
    const id = await certificateId('rsa');
    const c = await newChallenge();
    const payload = Buffer.from(JSON.stringify({ certificate: id, pin: token.pin, challenge: c.challenge }));
    const first = new Promise<Reply>((resolve, reject) => {
      const req = request(new URL('/v1/sign', agent.url), {
        method: 'POST', headers: { origin: appOrigin, 'content-type': 'application/json', 'content-length': String(payload.length) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      // The agent's own handler runs first and takes the token when the headers arrive; once
      // this listener fires, the first request is pending until the rest of its body comes.
      agent.server.once('request', () => {
        void (async () => {
          const second = await call(agent, 'GET', '/v1/certificates', { origin: appOrigin });
          const third = await agentSign(id, c.challenge);
          req.end(payload.subarray(20));
          assert.equal(second.status, 409);
          assert.equal(second.body.code, 'busy');
          assert.equal(third.body.code, 'busy');
        })().catch(reject);
      });
      req.write(payload.subarray(0, 20));
    });
    const done = await first;
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal((await sessionOf({ challengeId: c.id, format: 'cms', cms: done.body.cms })).acr, 'urn:yagona:loa:high');
  });

  test('no module configured, or one that does not load: no_module', async () => {
    for (const module of [undefined, openTokenModule('/nonexistent/libpkcs11.so')]) {
      const broken = await startAgent({ module, origins: [appOrigin], port: 0 });
      try {
        const status = await call(broken, 'GET', '/v1/status', { origin: appOrigin });
        assert.equal(status.status, 200, 'the page can still find the agent');
        const reply = await call(broken, 'GET', '/v1/certificates', { origin: appOrigin });
        assert.equal(reply.status, 503);
        assert.equal(reply.body.code, 'no_module');
      } finally {
        await broken.close();
      }
    }
  });

  test('a token pulled out after listing: token_removed; no token at all: an empty list', async () => {
    const removable = createSoftToken({ label: 'Removable token' });
    const empty = emptySoftHsmConf();
    try {
      const generated = removable.generateKey('ec-p256', 'removable key');
      removable.storeCertificate(await certifyTokenKey(qca, generated.publicKey, 'CN=Removable,C=UZ'), 'removable', generated.keyId);
      const [entry] = await listed();
      assert.equal(entry?.subject, 'CN=Removable,C=UZ');
      execFileSync('softhsm2-util', ['--delete-token', '--token', removable.label], { stdio: 'pipe' });
      const c = await newChallenge();
      const reply = await agentSign(entry.id, c.challenge, removable.pin);
      assert.equal(reply.status, 404);
      assert.equal(reply.body.code, 'token_removed');
      process.env.SOFTHSM2_CONF = empty.conf;
      const none = await call(agent, 'GET', '/v1/certificates', { origin: appOrigin });
      assert.deepEqual(none.body, { tokens: [], certificates: [] });
    } finally {
      token.activate();
      removable.remove();
      empty.remove();
    }
  });
});

describe('admin sign-in --pkcs11', () => {
  // In process: the module is loaded here, where SOFTHSM2_CONF points at the test token.
  async function admin(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const { code, stdout, stderr } = await runAdmin(args);
    return { code, out: stdout, err: stderr };
  }

  test('signs in from a terminal through the module, origin-bound to the URL, with the token\'s level', async () => {
    const run = await admin('sign-in', '--pkcs11', softhsmModule, '--pin', token.pin, '--slot', token.slot, '--key-id', keys.rsa.keyId, '--url', app.url, '--json');
    assert.equal(run.code, 0, run.err);
    const result = JSON.parse(run.out) as { current: { acr: string; amr: string[] } };
    assert.equal(result.current.acr, 'urn:yagona:loa:high');
    assert.deepEqual(result.current.amr, ['hwk', 'pin', 'pop']);
    // The slot as pkcs11-tool -L prints it in hex works the same.
    const hex = await admin('sign-in', '--pkcs11', softhsmModule, '--pin', token.pin, '--slot', `0x${BigInt(token.slot).toString(16)}`, '--key-id', keys.ec.keyId, '--url', app.url, '--json');
    assert.equal(hex.code, 0, hex.err);
    const bad = await admin('sign-in', '--pkcs11', softhsmModule, '--pin', token.pin, '--slot', 'first', '--url', app.url);
    assert.equal(bad.err, 'error: certificate_not_found: --slot first is not a slot id (decimal or 0x hex)\n');
  });

  test('two certificates and no --key-id: says which to choose; wrong PIN: one line with its code', async () => {
    const several = await admin('sign-in', '--pkcs11', softhsmModule, '--pin', token.pin, '--url', app.url);
    assert.equal(several.code, 1);
    assert.match(several.err, /^error: certificate_not_found: several signing certificates; choose one with --slot and --key-id: .*\n$/);
    const wrong = await admin('sign-in', '--pkcs11', softhsmModule, '--pin', '999999', '--key-id', keys.ec.keyId, '--url', app.url);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.err, 'error: pin_incorrect: wrong PIN\n');
    const usage = await admin('sign-in', '--pkcs11', softhsmModule, '--url', app.url);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /required option '--pin <pin>'/);
  });

  test('a module with no token: no_token', async () => {
    const empty = emptySoftHsmConf();
    process.env.SOFTHSM2_CONF = empty.conf;
    try {
      const run = await admin('sign-in', '--pkcs11', softhsmModule, '--pin', '1234', '--url', app.url);
      assert.equal(run.code, 1);
      assert.match(run.err, /^error: no_token: no key token is present/);
    } finally {
      token.activate();
      empty.remove();
    }
  });
});
