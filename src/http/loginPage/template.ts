// The citizen's sign-in page (docs/api.md "The sign-in page"): server-rendered in the requested
// language so the first paint is right, then driven by the external, same-origin bundle
// (browser.ts). No inline script or style, so the page's CSP needs no 'unsafe-*'.
import { agentOrigin } from '../../login/originBinding.ts';
import { loginAssets } from './assets.ts';
import { dictionaries, fill, locales, type Dictionary, type Locale, type TextKey } from './i18n.ts';

export interface LoginPageView {
  interactionId: string;
  clientName: string;
  locale: Locale;
}

/**
 * Scripts, styles and fetches from this origin only — and fetches to the key token agent on
 * its one loopback origin (keyToken.ts); nothing inline, no plug-ins, never framed (RFC 9700
 * §4.16); Trusted Types make any HTML-string sink a hard error.
 */
export const loginPageCsp = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", `connect-src 'self' ${agentOrigin}`, "img-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  "require-trusted-types-for 'script'", "trusted-types 'none'",
].join('; ');

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

/** A translatable text: the browser swaps it when the language changes. */
const t = (d: Dictionary, key: TextKey, client = '') =>
  `data-i18n="${key}">${escapeHtml(fill(d[key], client))}`;

export function renderLoginPage(view: LoginPageView): string {
  const d = dictionaries[view.locale];
  const { script, stylesheet, icon } = loginAssets();
  const client = view.clientName;
  const switcher = locales.map((locale) => `<li><button type="button" class="lang" lang="${locale}" data-locale="${locale}" aria-pressed="${locale === view.locale}">${escapeHtml(dictionaries[locale].name)}</button></li>`).join('');
  return `<!doctype html>
<html lang="${view.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title data-i18n="title">${escapeHtml(d.title)}</title>
<link rel="icon" href="${icon.path}" type="image/svg+xml">
<link rel="stylesheet" href="${stylesheet.path}" integrity="${stylesheet.integrity}">
<script type="module" src="${script.path}" integrity="${script.integrity}"></script>
</head>
<body>
<header class="top">
<p class="brand">Yagona ID</p>
<nav class="languages" aria-labelledby="language-label"><span id="language-label" class="visually-hidden" ${t(d, 'language')}</span><ul>${switcher}</ul></nav>
</header>
<main id="main" data-interaction="${escapeHtml(view.interactionId)}" data-client="${escapeHtml(client)}">
<h1 ${t(d, 'title')}</h1>
<p class="intro" ${t(d, 'intro', client)}</p>
<div id="alert" class="alert" role="alert" tabindex="-1" hidden></div>
<noscript><p class="alert" ${t(d, 'noscript')}</p></noscript>
<form id="key-form" class="card" novalidate>
<div class="field">
<label for="key-file" ${t(d, 'fileLabel')}</label>
<div class="file-picker">
<input id="key-file" type="file" accept=".p12,.pfx,application/x-pkcs12" aria-describedby="file-name key-file-hint" required>
<span class="file-button" aria-hidden="true" ${t(d, 'chooseFile')}</span>
<span id="file-name" class="file-name" ${t(d, 'noFile')}</span>
</div>
<p id="key-file-hint" class="hint" ${t(d, 'fileHint')}</p>
</div>
<div class="field">
<label for="password" ${t(d, 'passwordLabel')}</label>
<input id="password" type="password" autocomplete="off" spellcheck="false" aria-describedby="password-hint">
<p id="password-hint" class="hint" ${t(d, 'passwordHint')}</p>
</div>
<button id="open" type="submit" class="primary" ${t(d, 'open')}</button>
</form>
<form id="sign-form" class="card" novalidate hidden>
<h2 id="check-heading" tabindex="-1" ${t(d, 'checkHeading')}</h2>
<p id="choose-one" class="hint" hidden ${t(d, 'chooseOne')}</p>
<div id="identities"></div>
<div class="actions">
<button id="sign" type="submit" class="primary" ${t(d, 'signIn')}</button>
<button id="another" type="button" class="secondary" ${t(d, 'another')}</button>
</div>
</form>
<p id="status" class="status" role="status" aria-live="polite"></p>
<p class="privacy" ${t(d, 'privacy')}</p>
</main>
</body>
</html>
`;
}
