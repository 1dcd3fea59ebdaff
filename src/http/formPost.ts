// OAuth 2.0 Form Post Response Mode (§2): the authorization response as a form of hidden
// fields the browser POSTs to the redirect_uri at once, so code and state never sit in a URL
// (history, server logs, Referer). The one inline script is allowed by its hash alone, and
// the form may go nowhere but the redirect_uri's origin. Without scripts the citizen sees one
// button, in their language and the pages' look.
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { loginAssets } from './loginPage/assets.ts';
import { dictionaries, type Locale } from './loginPage/i18n.ts';

const submit = 'document.forms[0].submit();';
const submitHash = `'sha256-${createHash('sha256').update(submit, 'utf8').digest('base64')}'`;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

export function sendFormPost(res: Response, redirectUri: string, params: Record<string, string | undefined>, locale: Locale): void {
  const { stylesheet } = loginAssets();
  const fields = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  res.set('Content-Security-Policy', `default-src 'none'; script-src ${submitHash}; style-src 'self'; form-action ${new URL(redirectUri).origin}; base-uri 'none'; frame-ancestors 'none'`);
  res.set('Cache-Control', 'no-store');
  res.set('Referrer-Policy', 'no-referrer');
  res.status(200).type('html').send(`<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Yagona ID</title>
<link rel="stylesheet" href="${stylesheet.path}" integrity="${stylesheet.integrity}"></head>
<body>
<main>
<form method="post" action="${escapeHtml(redirectUri)}">
${fields}
<noscript><button type="submit" class="primary">${escapeHtml(dictionaries[locale].continueButton)}</button></noscript>
</form>
</main>
<script>${submit}</script>
</body>
</html>
`);
}
