// The one frame of every page a citizen sees (sign-in, continue, error, logout, account):
// the same head, stylesheet, icon, brand bar and language switch, server-rendered in the
// chosen language. Texts carry `data-i18n` so the switch (languageSwitch.ts) changes them in
// place; nothing is inline, so the pages' CSP needs no 'unsafe-*'.
import { loginAssets } from './assets.ts';
import { dictionaries, fill, locales, sentenceOf, type Locale, type SentenceKey } from './i18n.ts';

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

/** Values for the `{client}`-style placeholders of a page's sentences; also its `data-*` on <main>. */
export type PageVars = Readonly<Record<string, string>>;

/** A translatable text's attribute and content: `<p ${t(locale, 'intro', vars)}</p>`. */
export function t(locale: Locale, key: SentenceKey, vars: PageVars = {}): string {
  return `data-i18n="${key}">${escapeHtml(fill(sentenceOf(dictionaries[locale], key), vars.client ?? '', vars))}`;
}

/**
 * Every page but the sign-in page (which adds a connect-src for the key token agent and E-IMZO, and posts
 * nothing by form): its own stylesheet, icon and switch script, forms to this origin only,
 * never framed (RFC 9700 §4.16), Trusted Types making any HTML-string sink a hard error.
 */
export const pageCsp = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  "require-trusted-types-for 'script'", "trusted-types 'none'",
].join('; ');

export interface PageView {
  locale: Locale;
  /** The <title> and the <h1>. */
  title: SentenceKey;
  /** Placeholder values; each also becomes a `data-*` attribute of <main> for the switch. */
  vars?: PageVars;
  /** The rest of <main>, already HTML (build it with `t` and `escapeHtml`). */
  body: string;
  /** The sign-in page's bundle, or the language switch alone. */
  script?: 'signIn' | 'switch';
}

export function renderPage(view: PageView): string {
  const d = dictionaries[view.locale];
  const assets = loginAssets();
  const script = view.script === 'signIn' ? assets.script : assets.switcher;
  const vars = view.vars ?? {};
  const data = Object.entries(vars).map(([name, value]) => ` data-${name}="${escapeHtml(value)}"`).join('');
  const switcher = locales.map((locale) => `<li><button type="button" class="lang" lang="${locale}" data-locale="${locale}" aria-pressed="${locale === view.locale}">${escapeHtml(dictionaries[locale].name)}</button></li>`).join('');
  return `<!doctype html>
<html lang="${view.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title data-i18n="${view.title}">${escapeHtml(fill(sentenceOf(d, view.title), vars.client ?? '', vars))}</title>
<link rel="icon" href="${assets.icon.path}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.stylesheet.path}" integrity="${assets.stylesheet.integrity}">
<script type="module" src="${script.path}" integrity="${script.integrity}"></script>
</head>
<body>
<header class="top">
<p class="brand">Yagona ID</p>
<nav class="languages" aria-labelledby="language-label"><span id="language-label" class="visually-hidden" ${t(view.locale, 'language')}</span><ul>${switcher}</ul></nav>
</header>
<main id="main"${data}>
<h1 ${t(view.locale, view.title, vars)}</h1>
${view.body}
</main>
</body>
</html>
`;
}
