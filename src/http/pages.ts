// The pages a citizen sees besides the sign-in form: each one a view rendered in the shared
// frame (loginPage/shell.ts) in the citizen's language, sent with the pages' strict CSP.
import type { Response } from 'express';
import { defaultLocale, isLocale, type Locale, type SentenceKey } from './loginPage/i18n.ts';
import { localeCookie } from './loginPage/languageSwitch.ts';
import { escapeHtml, pageCsp, renderPage, t } from './loginPage/shell.ts';
import { loginPageCsp, renderLoginPage, type LoginPageView } from './loginPage/template.ts';

export type { Locale };

/**
 * The page's language: the first of the request's `ui_locales` (OIDC Core §3.1.2.1) we speak,
 * else the citizen's last choice on the switch (its cookie), else Uzbek.
 */
export function chooseLocale(uiLocales: readonly string[] | undefined, cookieHeader: string | undefined): Locale {
  const requested = uiLocales?.find(isLocale);
  if (requested !== undefined) return requested;
  const chosen = cookieValue(cookieHeader, localeCookie);
  return isLocale(chosen) ? chosen : defaultLocale;
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4); parsed by hand rather than adding cookie-parser. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === name && value !== undefined) return value;
  }
  return undefined;
}

/** Sends a page with the CSP its kind needs (the sign-in page talks to the key token agent). */
export function sendPage(res: Response, html: string, options: { status?: number; csp?: string } = {}): void {
  res.status(options.status ?? 200).set('Content-Security-Policy', options.csp ?? pageCsp).type('html').send(html);
}

/**
 * The pages' CSP for a page whose form's answer redirects to an agency (the continue page, a
 * logout question): browsers hold redirects after a form submission to form-action too (CSP 3
 * §6.3.1), so the agency's origin — or a native app's scheme — joins 'self'.
 */
export function pageCspPostingTo(uri: string | undefined): string {
  if (uri === undefined) return pageCsp;
  const url = new URL(uri);
  return pageCsp.replace("form-action 'self'", `form-action 'self' ${url.origin === 'null' ? url.protocol : url.origin}`);
}

/** The citizen's sign-in page: key file opened and challenge signed in the browser (loginPage/). */
export function sendLoginPage(res: Response, view: LoginPageView): void {
  sendPage(res, renderLoginPage(view), { csp: loginPageCsp });
}

/** Why a page could not go on; each has its sentence in every language. */
export type PageProblem = 'bad_request' | 'expired' | 'rate_limited' | 'unavailable' | 'internal';

const problemSentence: Record<PageProblem, SentenceKey> = {
  bad_request: 'errorBadRequest',
  expired: 'errorExpired',
  rate_limited: 'errors.rate_limited',
  unavailable: 'errors.unavailable',
  internal: 'errors.internal_error',
};

export interface ErrorPageView {
  locale: Locale;
  problem: PageProblem;
  /** The protocol's own words for the agency's developers (English, as OAuth's error_description). */
  detail?: string;
  /** And its error code (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6), which no redirect could carry. */
  code?: string;
}

export function errorPage(view: ErrorPageView): string {
  const detail = view.detail === undefined ? '' : `
<p class="hint"><span ${t(view.locale, 'errorDetail')}</span> <span lang="en">${escapeHtml(view.detail)}</span>${view.code === undefined ? '' : ` <code>${escapeHtml(view.code)}</code>`}</p>`;
  return renderPage({
    locale: view.locale,
    title: 'errorTitle',
    body: `<p class="alert" role="alert" ${t(view.locale, problemSentence[view.problem])}</p>${detail}`,
  });
}

export interface LogoutPageView {
  locale: Locale;
  /** What was signed out: one agency, every one, nothing left, or nothing asked (no hint). */
  result: 'agency' | 'all' | 'nothing' | 'absent';
  clientName?: string;
  /** The agency's registered post_logout_redirect_uri, when nothing was left to end there. */
  backTo?: string;
}

export function logoutPage(view: LogoutPageView): string {
  const [title, text]: [SentenceKey, SentenceKey] = {
    agency: ['logoutAgencyTitle', 'logoutAgency'],
    all: ['logoutDoneTitle', 'logoutAll'],
    nothing: ['logoutNothingTitle', 'logoutNothingLeft'],
    absent: ['logoutNothingTitle', 'logoutNothing'],
  }[view.result] as [SentenceKey, SentenceKey];
  const vars = { client: view.clientName ?? '' };
  const back = view.backTo === undefined ? '' : `\n<p><a class="back" href="${escapeHtml(view.backTo)}" ${t(view.locale, 'backToClient', vars)}</a></p>`;
  return renderPage({ locale: view.locale, title, vars, body: `<p class="intro" ${t(view.locale, text, vars)}</p>${back}` });
}

export interface LogoutQuestionView {
  locale: Locale;
  pendingId: string;
  clientName: string;
  /** The browser's own session: "this agency" or "all agencies"; else only a confirmation for this agency. */
  all: boolean;
  otherAgencies: number;
}

/** RP-Initiated Logout §2: the citizen decides before anything ends. Plain same-origin forms. */
export function logoutQuestionPage(view: LogoutQuestionView): string {
  const vars = { client: view.clientName, count: String(view.otherAgencies) };
  const x = (key: SentenceKey) => t(view.locale, key, vars);
  const button = (end: 'agency' | 'all', key: SentenceKey, kind: string) =>
    `<form method="post" action="logout/confirm"><input type="hidden" name="logout_id" value="${escapeHtml(view.pendingId)}"><input type="hidden" name="end" value="${end}"><button id="end-${end}" type="submit" class="${kind}" ${x(key)}</button></form>`;
  const body = view.all
    ? `<p class="intro" ${x('logoutChoose')}</p>\n<div class="actions">${button('agency', 'logoutThisAgency', 'secondary')}${button('all', 'logoutAllAgencies', 'primary')}</div>`
    : `<p class="intro" ${x('logoutForeign')}</p>\n<div class="actions">${button('agency', 'logoutConfirm', 'primary')}</div>`;
  return renderPage({ locale: view.locale, title: view.all ? 'logoutChooseTitle' : 'logoutForeignTitle', vars, body });
}

export interface ContinuePageView {
  locale: Locale;
  interactionId: string;
  clientName: string;
  /** The citizen's name as the certificate gives it. */
  name: string;
  /** The request's scopes: the page names what the agency will receive. */
  scope: readonly string[];
}

/** What each scope hands the agency (oidc/resources.ts claimsFor), in the order the page lists it. */
const scopeSentences: ReadonlyArray<[string, SentenceKey]> = [
  ['openid', 'claimSub'], ['profile', 'claimProfile'], ['national_id', 'claimNationalId'], ['organization', 'claimOrganization'],
];

/**
 * Single sign-on's one click (GovSSO v2): "continue as NAME to AGENCY" without the key, or
 * another key. Plain same-origin forms: the page needs no script beyond the language switch.
 */
export function continuePage(view: ContinuePageView): string {
  const vars = { client: view.clientName, name: view.name };
  const x = (key: SentenceKey) => t(view.locale, key, vars);
  const receives = scopeSentences.filter(([scope]) => view.scope.includes(scope)).map(([, key]) => `<li ${x(key)}</li>`).join('');
  const id = escapeHtml(view.interactionId);
  return renderPage({
    locale: view.locale,
    title: 'continueTitle',
    vars,
    body: `<p class="intro" ${x('continueIntro')}</p>
<div class="card">
<p ${x('continueReceives')}</p>
<ul id="receives">${receives}</ul>
<p class="hint" ${x('continueNoSignature')}</p>
<div class="actions">
<form method="post" action="${id}/continue"><button id="continue" type="submit" class="primary" ${x('continueButton')}</button></form>
<form method="post" action="${id}/another"><button id="another-key" type="submit" class="secondary" ${x('anotherKey')}</button></form>
</div>
</div>`,
  });
}

export interface AccountPageView {
  locale: Locale;
  /** Undefined: no session in this browser. */
  session?: { sid: string; name: string; authTime: Date; high: boolean; agencies: readonly string[] };
  /** Just signed out everywhere. */
  signedOut?: boolean;
}

/** The signature's date and time as Uzbekistan's clocks show them (one zone, no daylight saving). */
const tashkent = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tashkent', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/**
 * The citizen's own page: the session of this browser and the agencies in it, "sign out
 * everywhere". Nothing but what the certificate says (the name) and what the session is.
 */
export function accountPage(view: AccountPageView): string {
  const { locale, session } = view;
  if (session === undefined) {
    return renderPage({ locale, title: 'accountTitle', body: `<p class="intro" ${t(locale, view.signedOut === true ? 'accountSignedOut' : 'accountNone')}</p>` });
  }
  const parts = Object.fromEntries(tashkent.formatToParts(session.authTime).map((part) => [part.type, part.value]));
  const vars = { name: session.name, date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
  const x = (key: SentenceKey) => t(locale, key, vars);
  const agencies = session.agencies.length === 0
    ? `<p class="hint" ${x('accountNoAgencies')}</p>`
    : `<p ${x('accountAgencies')}</p>\n<ul id="agencies">${session.agencies.map((name) => `<li>${escapeHtml(name)}</li>`).join('')}</ul>`;
  return renderPage({
    locale,
    title: 'accountTitle',
    vars,
    body: `<p class="intro" ${x('accountSignedIn')}</p>
<div class="card">
<p ${x('accountSignedAt')}</p>
<p ${x(session.high ? 'accountLevelHigh' : 'accountLevelSubstantial')}</p>
${agencies}
<form method="post" action="account/logout"><input type="hidden" name="sid" value="${escapeHtml(session.sid)}"><div class="actions"><button id="sign-out-everywhere" type="submit" class="primary" ${x('accountSignOutEverywhere')}</button></div></form>
</div>`,
  });
}
