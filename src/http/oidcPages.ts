// The HTML the OIDC endpoints show. Each page is one template function, so the citizen's
// sign-in page (its own issue) can replace `loginPage` without touching the routes.
// No script, no inline style: the app's CSP (default-src 'none') stays as strict as it is;
// the sign-in page loads its own same-origin bundle under loginPageCsp.
import { defaultLocale, isLocale } from './loginPage/i18n.ts';
import { renderLoginPage } from './loginPage/template.ts';

export { loginPageCsp } from './loginPage/template.ts';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

function page(lang: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="${escapeHtml(lang)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export interface LoginPageInput {
  interactionId: string;
  clientName: string;
  locale: string;
  expiresAt: Date;
}

/** The citizen's sign-in page: key file opened and challenge signed in the browser (loginPage/). */
export function loginPage(input: LoginPageInput): string {
  return renderLoginPage({
    interactionId: input.interactionId,
    clientName: input.clientName,
    locale: isLocale(input.locale) ? input.locale : defaultLocale,
  });
}

export function errorPage(message: string): string {
  return page('en', 'Sign-in cannot continue', `<p role="alert">${escapeHtml(message)}</p>
<p>Go back to the application you came from and start again. If this keeps happening, the application is misconfigured.</p>`);
}

export function logoutPage(signedOut: boolean): string {
  return signedOut
    ? page('en', 'You have signed out', '<p>Your Yagona ID sign-in has ended. You can close this window.</p>')
    : page('en', 'Nothing was signed out', '<p>No sign-in was ended: sign out from the application you used, which asks Yagona ID to end your session.</p>');
}
