// Transport-level rejections of a sign-in (docs/api.md "Bodies"): a body that cannot be read
// still consumes the challenge id it names and writes one audit row, and a JSON object with a
// repeated key is refused (400 invalid_request) rather than read one way or another.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDatabases, startTestApp, type TestApp } from '../helpers/app.ts';
import type { TestDatabase } from '../helpers/services.ts';
import { expectRefusal } from '../helpers/signInChecks.ts';
import { cmsBody, createTestPki, type Citizen, type TestPki } from '../helpers/testPki.ts';
import { addClient, authorizationUrl, Browser, relyingParty, startInteraction } from '../oidc/helpers.ts';

let pki: TestPki;
let citizen: Citizen;
let databases: TestDatabase[];
before(async () => {
  pki = await createTestPki();
  citizen = await pki.citizen();
  databases = await openTestDatabases();
});
after(async () => Promise.all(databases.map((d) => d.cleanup())));

for (const [store, kind] of [['redis', 'postgres'], ['memory', 'sqlite']] as const) {
  describe(`a sign-in body the transport cannot read (${store}, ${kind})`, () => {
    let app: TestApp;
    before(async () => { app = await startTestApp({ store, database: databases.find((d) => d.kind === kind)!, pki, realIssuer: true }); });
    after(async () => app.close());

    /** Sends `make(c)` for a fresh challenge and checks the whole refusal (test/helpers/signInChecks.ts). */
    async function rejected(path: string, make: (c: { id: string; challenge: string }) => { body: string | Buffer; headers?: Record<string, string> }, status: number, code: string, browser = new Browser()) {
      const c = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
      const { body, headers = {} } = make(c);
      const send = () => browser.fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
      await expectRefusal(app, send, status, code, cmsBody(citizen, c.id, c.challenge));
    }

    const start = (id: string) => `{"challengeId":"${id}","format":"cms","cms":"`;
    test('invalid JSON', () => rejected('/v1/sessions', (c) => ({ body: `${start(c.id)}AAAA",` }), 400, 'invalid_request'));
    test('a body over 64 KiB', () => rejected('/v1/sessions', (c) => ({ body: `${start(c.id)}${'A'.repeat(70_000)}"}` }), 413, 'payload_too_large'));
    test('another charset than UTF-8', () => rejected('/v1/sessions', (c) => ({ body: `${start(c.id)}AAAA"}`, headers: { 'content-type': 'application/json; charset=latin1' } }), 400, 'invalid_request'));
    test('not application/json', () => rejected('/v1/sessions', (c) => ({ body: `${start(c.id)}AAAA"}`, headers: { 'content-type': 'text/plain' } }), 400, 'invalid_request'));
    test('a repeated key (the first challengeId is consumed)', () => rejected('/v1/sessions', (c) => ({ body: `{"challengeId":"${c.id}","format":"cms","format":"raw","cms":"AAAA"}` }), 400, 'invalid_request'));
    test('bytes that are not UTF-8', () => rejected('/v1/sessions', (c) => ({ body: Buffer.concat([Buffer.from(start(c.id)), Buffer.of(0xc3, 0x28), Buffer.from('"}')]) }), 400, 'invalid_request'));

    test('null, or a body without a readable challenge id: one audit row, nothing consumed', async () => {
      for (const body of ['null', '{"format":"cms",', '"text"']) {
        const rows = (await app.db.audit.tail(10_000)).length;
        const res = await app.post('/v1/sessions', body);
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { code: string }).code, 'invalid_request');
        const audit = await app.db.audit.tail(10_000);
        assert.equal(audit.length, rows + 1);
        assert.equal(audit.at(-1)?.code, 'invalid_request');
      }
    });

    test('the same through the OIDC interaction (POST /login/{id})', async () => {
      const browser = new Browser();
      const { url } = await authorizationUrl(await relyingParty(app, await addClient(app)));
      const loginPath = new URL(await startInteraction(app, browser, url)).pathname;
      await rejected(loginPath, (c) => ({ body: `${start(c.id)}AAAA"` }), 400, 'invalid_request', browser);
      await rejected(loginPath, (c) => ({ body: `{"challengeId":"${c.id}","challengeId":"x","format":"cms","cms":"AAAA"}` }), 400, 'invalid_request', browser);
    });

    test('POST /login/{id} for an interaction that does not exist, is another browser\'s or is malformed: not_found, and the body\'s challenge is consumed and audited all the same', async () => {
      const browser = new Browser();
      const { url } = await authorizationUrl(await relyingParty(app, await addClient(app)));
      const loginPath = new URL(await startInteraction(app, browser, url)).pathname;
      // A correctly signed body each time: only where it is posted is wrong.
      const signed = (c: { id: string; challenge: string }) => ({ body: JSON.stringify(cmsBody(citizen, c.id, c.challenge)) });
      await rejected('/login/AAAAAAAAAAAAAAAAAAAAAAAA', signed, 404, 'not_found', browser);
      await rejected('/login/not-an-interaction', signed, 404, 'not_found', browser);
      await rejected(loginPath, signed, 404, 'not_found', new Browser());
      await rejected('/login/AAAAAAAAAAAAAAAAAAAAAAAA', (c) => ({ body: `${start(c.id)}AAAA"` }), 404, 'not_found', browser);
      // The interaction itself is untouched: its own browser still signs in.
      const fresh = (await (await app.post('/v1/challenges', {})).json()) as { id: string; challenge: string };
      const res = await browser.fetch(`${app.url}${loginPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: signed(fresh).body });
      assert.equal(res.status, 200, await res.clone().text());
    });

    test('a repeated key elsewhere in /v1 is refused too, a repeated key in another object is fine', async () => {
      const res = await app.post('/v1/challenges', '{"a":1,"a":2}');
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { code: string }).code, 'invalid_request');
      assert.equal((await app.post('/v1/challenges', '{"a":{"b":1},"c":{"b":2}}')).status, 201);
      assert.equal((await app.post('/v1/challenges', '')).status, 201, 'an empty body is no body');
    });

    test('a repeated key is found however it is written: nested, escaped, beside strings that look like keys; a 30 000-deep body is only a body', async () => {
      const refused = async (body: string) => {
        const res = await app.post('/v1/challenges', body);
        assert.equal(res.status, 400, body);
        const problem = (await res.json()) as { code: string; detail: string };
        assert.equal(problem.code, 'invalid_request');
        assert.match(problem.detail, /appears twice/);
      };
      await refused('{"x":[{"k":1,"k":1}]}');
      await refused('{"a\\"b":1,"a\\u0022b":2}');
      await refused('{"s":"\\":\\"","s":"t"}');
      await refused('{"__proto__":1,"__proto__":2}');
      assert.equal((await app.post('/v1/challenges', '{"s":"\\"k\\":1,\\"k\\":2","t":["k",":"]}')).status, 201, 'key-like text inside strings is no key');
      assert.equal((await app.post('/v1/challenges', `${'['.repeat(30_000)}${']'.repeat(30_000)}`)).status, 201);
    });
  });
}
