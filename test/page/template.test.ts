// The sign-in page's words and HTML without a browser: every error code of docs/errors.md (and every
// key-file problem) has its own sentence in Uzbek, Russian and English; the template escapes
// what it is given and loads nothing but its own hashed assets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCodes } from '../../src/errors.ts';
import { buildLoginAssets, loginAssets } from '../../src/http/loginPage/assets.ts';
import { dictionaries, formatDate, locales, type Problem } from '../../src/http/loginPage/i18n.ts';
import { loadConfig } from '../../src/config.ts';
import { loginPageCsp, renderLoginPage } from '../../src/http/loginPage/template.ts';
import { foreignCspSources } from './helpers.ts';

// The founding contract's error table (docs/errors.md), in its order.
const specCodes = [
  'invalid_request', 'malformed_signature', 'unsupported_algorithm', 'weak_algorithm', 'challenge_invalid', 'signature_invalid',
  'certificate_untrusted', 'certificate_expired', 'certificate_not_yet_valid', 'certificate_usage_invalid', 'certificate_revoked',
  'revocation_unknown', 'session_invalid', 'payload_too_large', 'rate_limited', 'unavailable',
] as const;

describe('sign-in page dictionaries', () => {
  it('has a sentence for every error code of docs/errors.md and every code of errors.ts, in each language, each different', () => {
    const codes = new Set<string>([...specCodes, ...Object.keys(errorCodes)]);
    for (const locale of locales) {
      const errors = dictionaries[locale].errors as Record<string, string>;
      for (const code of codes) {
        assert.ok((errors[code] ?? '').length > 20, `${locale} lacks a sentence for ${code}`);
        assert.match(errors[code]!, /[.!]$/, `${locale}.${code} is a full sentence`);
      }
      const sentences = Object.values(errors);
      assert.equal(new Set(sentences).size, sentences.length, `${locale}: two problems share one sentence`);
    }
    for (const code of Object.keys(dictionaries.en.errors) as Problem[]) {
      assert.notEqual(dictionaries.uz.errors[code], dictionaries.en.errors[code], `uz.${code} is untranslated`);
      assert.notEqual(dictionaries.ru.errors[code], dictionaries.en.errors[code], `ru.${code} is untranslated`);
    }
  });

  it('has the same keys in every language', () => {
    const keys = (locale: (typeof locales)[number]) => Object.keys(dictionaries[locale]).sort();
    assert.deepEqual(keys('uz'), keys('en'));
    assert.deepEqual(keys('ru'), keys('en'));
  });

  it('spells dates itself (Uzbek month names are missing from some browsers\' ICU data)', () => {
    const date = new Date(2027, 10, 27, 12);
    assert.equal(formatDate(dictionaries.uz, date), '2027-yil 27-noyabr');
    assert.equal(formatDate(dictionaries.ru, date), '27 ноября 2027 г.');
    assert.equal(formatDate(dictionaries.en, date), '27 November 2027');
  });
});

describe('sign-in page template', () => {
  it('escapes the agency name and the interaction id, and links only its own hashed assets with SRI', () => {
    const html = renderLoginPage({ interactionId: 'abc"><x', clientName: '<script>alert(1)</script>&"\'', locale: 'ru', eimzoApiKeys: loadConfig({}).eimzoApiKeys });
    assert.doesNotMatch(html, /<script>alert|<x/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&amp;&quot;&#39;/);
    assert.match(html, /<html lang="ru">/);
    // E-IMZO's apikey arguments (EIMZO_API_KEYS; by default its published development keys).
    assert.match(html, /data-eimzo="localhost,96D0C149[0-9A-F]+,127\.0\.0\.1,A7BCFA5D[0-9A-F]+"/);
    const { script, stylesheet } = loginAssets();
    assert.ok(html.includes(`<script type="module" src="${script.path}" integrity="${script.integrity}"></script>`));
    assert.ok(html.includes(`<link rel="stylesheet" href="${stylesheet.path}" integrity="${stylesheet.integrity}">`));
    assert.deepEqual([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!.startsWith('/assets/login/')), [true, true, true]);
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i);
    // Inputs have no name: even without the script nothing would be submitted anywhere.
    assert.doesNotMatch(html, /<input[^>]*\sname=/);
  });

  it('the CSP allows only this origin (and the key token agent\'s loopback origin for fetches), no inline code', () => {
    assert.deepEqual(foreignCspSources(loginPageCsp), []);
    // E-IMZO: exactly its two local endpoints, plain for http pages and TLS for https ones.
    const connect = loginPageCsp.split('; ').find((directive) => directive.startsWith('connect-src '))?.split(' ') ?? [];
    assert.deepEqual(connect.filter((source) => source.startsWith('ws')), ['ws://127.0.0.1:64646', 'wss://127.0.0.1:64443']);
    assert.match(loginPageCsp, /frame-ancestors 'none'/);
  });

  it('builds the same bytes twice (content-hashed names stay stable across restarts)', () => {
    const [a, b] = [buildLoginAssets(), buildLoginAssets()];
    assert.equal(a.script.path, b.script.path);
    assert.equal(a.stylesheet.path, b.stylesheet.path);
    assert.ok(a.script.body.length < 600_000, `bundle grew to ${a.script.body.length} bytes`);
  });
});
