// Every page a citizen can reach outside the sign-in form, and every way an OAuth error reaches
// the wire: one frame (stylesheet, icon, language switch, strict CSP) in the citizen's
// language, a page whenever a redirect is not proven, JSON at the back channel.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loginAssets } from '../../src/http/loginPage/assets.ts';
import { dictionaries } from '../../src/http/loginPage/i18n.ts';
import { pageCsp } from '../../src/http/loginPage/shell.ts';
import type { TestApp } from '../helpers/app.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/services.ts';
import { createTestPki } from '../helpers/testPki.ts';
import { addClient, postForm, redirectUri, startOidcApp, type TestClient } from '../oidc/helpers.ts';
import { foreignCspSources } from '../page/helpers.ts';

let database: TestDatabase;
let app: TestApp;
let client: TestClient;

before(async () => {
  database = await openTestDatabase('sqlite');
  app = await startOidcApp({ store: 'memory', database, pki: await createTestPki() });
  client = await addClient(app);
});
after(async () => {
  await app.close();
  await database.cleanup();
});

const textOf = (html: string, tag: string) => new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`).exec(html)?.[1];

/** The page is in `locale`, in the shared frame, under the pages' CSP; returns its HTML. */
async function expectPage(res: Response, status: number, locale: 'uz' | 'ru' | 'en'): Promise<string> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('location'), null, 'never a redirect');
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('content-security-policy'), pageCsp);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const html = await res.text();
  assert.match(html, new RegExp(`<html lang="${locale}">`));
  const { stylesheet, switcher, icon } = loginAssets();
  for (const asset of [stylesheet, switcher, icon]) assert.ok(html.includes(`"${asset.path}"`), `links ${asset.path}`);
  assert.deepEqual([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!.startsWith('/assets/login/')), [true, true, true], 'loads nothing else');
  assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i);
  return html;
}

describe('pages', () => {
  test('the pages\' CSP names nothing but this origin, forms to it only, and is never framed', () => {
    assert.deepEqual(foreignCspSources(pageCsp), []);
    assert.match(pageCsp, /form-action 'self'/);
    assert.match(pageCsp, /frame-ancestors 'none'/);
  });

  test('an unverified authorization request gets its page in the requested language, the protocol detail kept for developers', async () => {
    for (const locale of ['uz', 'ru', 'en'] as const) {
      const res = await fetch(`${app.url}/authorize?client_id=agency-unknown&redirect_uri=${encodeURIComponent(redirectUri)}&ui_locales=${locale}`, { redirect: 'manual' });
      const html = await expectPage(res, 400, locale);
      assert.equal(textOf(html, 'h1'), dictionaries[locale].errorTitle);
      assert.equal(textOf(html, 'title'), dictionaries[locale].errorTitle);
      assert.equal(/<p class="alert" role="alert"[^>]*>([^<]*)</.exec(html)?.[1], dictionaries[locale].errorBadRequest);
      assert.match(html, /<span lang="en">this application is not registered with Yagona ID<\/span>/);
    }
  });

  test('an expired or foreign interaction is a 404 page; the language switch\'s cookie chooses its language', async () => {
    const plain = await expectPage(await fetch(`${app.url}/login/AAAAAAAAAAAAAAAAAAAAAAAA`), 404, 'uz');
    assert.equal(textOf(plain, 'h1'), dictionaries.uz.errorTitle);
    assert.ok(plain.includes(dictionaries.uz.errorExpired));
    const russian = await expectPage(await fetch(`${app.url}/login/AAAAAAAAAAAAAAAAAAAAAAAA`, { headers: { cookie: 'yagona-locale=ru' } }), 404, 'ru');
    assert.ok(russian.includes(dictionaries.ru.errorExpired));
    // ui_locales of the request wins over the cookie; an unknown cookie value is ignored.
    await expectPage(await fetch(`${app.url}/logout?ui_locales=en`, { headers: { cookie: 'yagona-locale=ru' } }), 200, 'en');
    await expectPage(await fetch(`${app.url}/logout`, { headers: { cookie: 'yagona-locale=fr' } }), 200, 'uz');
  });

  test('a body the authorization endpoint cannot read is a page too, in the language the cookie names', async () => {
    const res = await fetch(`${app.url}/authorize`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'yagona-locale=en' }, body: `state=${'x'.repeat(70_000)}`,
    });
    const html = await expectPage(res, 413, 'en');
    assert.match(html, /larger than 64 KiB/);
  });

  test('a repeated logout parameter is a page, never JSON; the same refusal at the token endpoint is JSON', async () => {
    const html = await expectPage(await fetch(`${app.url}/logout?id_token_hint=a&id_token_hint=b&ui_locales=ru`), 400, 'ru');
    assert.match(html, /the parameter id_token_hint is repeated/);
    const token = await fetch(`${app.url}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=a&grant_type=b',
    });
    assert.equal(token.status, 400);
    assert.match(token.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await token.json(), { error: 'invalid_request', error_description: 'the parameter grant_type is repeated' });
  });

  test('an error after the client and redirect_uri are proven goes back to the agency, not to a page', async () => {
    const res = await fetch(`${app.url}/authorize?client_id=${client.client.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=token&state=s`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, redirectUri);
    assert.equal(location.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(location.searchParams.get('iss'), app.url);
  });

  test('a back-channel error keeps its OAuth format and headers', async () => {
    const res = await postForm(`${app.url}/token`, { grant_type: 'authorization_code', code: 'x' }, { id: client.client.clientId, secret: 'wrong' });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });
});
