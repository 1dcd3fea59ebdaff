// The citizen's sign-in page (docs/api.md "The sign-in page"): server-rendered in the requested
// language so the first paint is right, then driven by the external, same-origin bundle
// (browser.ts). No inline script or style, so the page's CSP needs no 'unsafe-*'.
import type { EimzoApiKey } from '../../config.ts';
import { agentOrigin } from '../../login/originBinding.ts';
import { eimzoOrigins } from './capiws.ts';
import type { Locale, TextKey } from './i18n.ts';
import { renderPage, t } from './shell.ts';

export interface LoginPageView {
  interactionId: string;
  clientName: string;
  locale: Locale;
  /** Registered with the citizen's E-IMZO module before any call (EIMZO_API_KEYS). */
  eimzoApiKeys: readonly EimzoApiKey[];
  /** `high` when the agency asked for nothing less (acr_values): the page offers the key token alone. */
  level?: 'high';
}

/**
 * Scripts, styles and fetches from this origin only — and fetches to the key token agent on
 * its one loopback origin (keyToken.ts), and E-IMZO's two local WebSocket endpoints, plain for
 * http pages and TLS for https ones (eimzo.ts); nothing inline, no plug-ins, never framed (RFC 9700
 * §4.16); Trusted Types make any HTML-string sink a hard error.
 */
export const loginPageCsp = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", `connect-src 'self' ${agentOrigin} ${eimzoOrigins.http} ${eimzoOrigins.https}`, "img-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  "require-trusted-types-for 'script'", "trusted-types 'none'",
].join('; ');

export function renderLoginPage(view: LoginPageView): string {
  const { locale, clientName: client } = view;
  const x = (key: TextKey) => t(locale, key, { client });
  return renderPage({
    locale,
    title: 'title',
    // E-IMZO's `apikey` arguments: domain, key, domain, key… (public values, as on every site using E-IMZO).
    vars: {
      interaction: view.interactionId, client, eimzo: view.eimzoApiKeys.flatMap(({ domain, key }) => [domain, key]).join(','),
      ...(view.level === undefined ? {} : { level: view.level }),
    },
    script: 'signIn',
    body: `<p class="intro" ${x('intro')}</p>
<div id="alert" class="alert" role="alert" tabindex="-1" hidden></div>
<noscript><p class="alert" ${x('noscript')}</p></noscript>
<form id="key-form" class="card" novalidate>
<div class="field">
<label for="key-file" ${x('fileLabel')}</label>
<div class="file-picker">
<input id="key-file" type="file" accept=".p12,.pfx,application/x-pkcs12" aria-describedby="file-name key-file-hint" required>
<span class="file-button" aria-hidden="true" ${x('chooseFile')}</span>
<span id="file-name" class="file-name" ${x('noFile')}</span>
</div>
<p id="key-file-hint" class="hint" ${x('fileHint')}</p>
</div>
<div class="field">
<label for="password" ${x('passwordLabel')}</label>
<input id="password" type="password" autocomplete="off" spellcheck="false" aria-describedby="password-hint">
<p id="password-hint" class="hint" ${x('passwordHint')}</p>
</div>
<button id="open" type="submit" class="primary" ${x('open')}</button>
</form>
<form id="sign-form" class="card" novalidate hidden>
<h2 id="check-heading" tabindex="-1" ${x('checkHeading')}</h2>
<p id="choose-one" class="hint" hidden ${x('chooseOne')}</p>
<div id="identities"></div>
<div class="actions">
<button id="sign" type="submit" class="primary" ${x('signIn')}</button>
<button id="another" type="button" class="secondary" ${x('another')}</button>
</div>
</form>
<p id="status" class="status" role="status" aria-live="polite"></p>
<p class="privacy" ${x('privacy')}</p>`,
  });
}
