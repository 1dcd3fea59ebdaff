// The E-IMZO way on the sign-in page (bundled with browser.ts): Uzbek citizens keep their keys in
// the E-IMZO desktop module, which every government site reaches from the page over its local
// protocol (capiws.ts). When the module answers, this method comes first and is chosen; else it
// stays last and, chosen, says how to start or install E-IMZO.
//
// The recipe follows E-IMZO's own client (e-imzo-client.js): `version`; `apikey` with the
// deployment's domain:key pairs (EIMZO_API_KEYS, in <main data-eimzo>); `pfx.list_all_certificates`,
// whose entries carry the certificate's fields in `alias`; then, for the chosen key, its expiry
// checked from `validto` before any password, `pfx.load_key` → keyId, `pfx.verify_password`
// (E-IMZO asks the password in its own window; the page never sees it), a fresh challenge,
// `pkcs7.create_pkcs7 [base64(challenge), keyId, "no"]` → `pkcs7_64`, `pfx.unload_key`, and the
// CMS posted to /login/{interactionId} like every other signature.
//
// ID cards: E-IMZO's published client only asks `idcard.list_readers`; how it signs with a card
// is not public, so cards are not offered here (docs/api.md "E-IMZO").
import { nationalIdentity, type SubjectAttribute } from '../../pki/x509/nationalIdentity.ts';
import { OID } from '../../pki/asn1/oids.ts';
import { callCapiws, failureReason, ModuleUnreachable, type CapiwsAnswer, type CapiwsRequest } from './capiws.ts';
import { eimzoDownloadUrl, eimzoTexts, type EimzoProblem } from './eimzoTexts.ts';
import { dictionaries, fill, formatDate } from './i18n.ts';
import { make, pageLocale, signInWith, type ServiceRefusal } from './pageParts.ts';
import { pageStatus } from './pageStatus.ts';

/** One key as `pfx.list_all_certificates` lists it. */
interface EimzoKey {
  disk: string;
  path: string;
  name: string;
  alias: string;
  commonName: string;
  pinfl?: string;
  tin?: string;
  organization?: string;
  validTo: Date;
}

// The alias's attribute names (lower-case, as the module writes them) and the OIDs they stand for.
const aliasAttributes: Record<string, string> = {
  cn: OID.commonName, o: OID.organizationName, t: OID.title, uid: OID.userId,
  [OID.uzPinfl]: OID.uzPinfl, [OID.uzTin]: OID.uzTin,
};

/** `validto=2026.08.18 14:55:14`, the module's local time, read as E-IMZO's client reads it. */
function aliasDate(text: string | undefined): Date {
  const match = /^(\d{4})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text ?? '');
  if (match === null) return new Date(Number.NaN);
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return new Date(year!, month! - 1, day, hour, minute, second);
}

/** The certificate's fields from its alias (`cn=…,1.2.860.3.16.1.2=…,…,validto=…`); split where a new `name=` starts, as E-IMZO's client does. */
function readKey(entry: Record<string, unknown>): EimzoKey | undefined {
  const { disk, path, name, alias } = entry;
  if (typeof disk !== 'string' || typeof path !== 'string' || typeof name !== 'string' || typeof alias !== 'string') return undefined;
  const fields = new Map<string, string>();
  for (const part of alias.split(/,(?=[a-z0-9.]+=)/i)) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const attributes: SubjectAttribute[] = [...fields].flatMap(([field, value]) => {
    const type = aliasAttributes[field];
    // Upper case, as E-IMZO's client reads the alias (the module writes it in lower case).
    return type === undefined ? [] : [{ type, value: value.toUpperCase() }];
  });
  const identity = nationalIdentity(attributes);
  // Like E-IMZO's client: an entry naming neither a PINFL nor a TIN is not a citizen's key.
  if (identity.pinfl === undefined && identity.tin === undefined && identity.organization?.tin === undefined) return undefined;
  return {
    disk, path, name, alias,
    commonName: identity.commonName ?? name,
    ...(identity.pinfl === undefined ? {} : { pinfl: identity.pinfl }),
    ...(identity.tin === undefined ? {} : { tin: identity.tin }),
    ...(identity.organization?.name === undefined ? {} : { organization: identity.organization.name }),
    validTo: aliasDate(fields.get('validto')),
  };
}

const main = document.getElementById('main');
const keyForm = document.getElementById('key-form');
const signForm = document.getElementById('sign-form');

const t = () => eimzoTexts[pageLocale()];
const client = main?.dataset.client ?? '';
const apiKeys = (main?.dataset.eimzo ?? '').split(',').filter(Boolean);
const domain = window.location.hostname;

let keys: EimzoKey[] = [];
/** The chosen key's place in `keys`, kept across a language switch's re-rendering. */
let selected = 0;

const tab = make('button', { type: 'button', className: 'secondary', id: 'method-eimzo' });
const intro = make('p', { className: 'hint' });
const list = make('div', { id: 'eimzo-keys' });
const refreshButton = make('button', { type: 'button', className: 'secondary', id: 'eimzo-refresh' });
const signButton = make('button', { type: 'submit', className: 'primary', id: 'eimzo-sign', hidden: true });
const form = make('form', { id: 'eimzo-form', className: 'card', hidden: true, noValidate: true },
  intro, list, make('div', { className: 'actions' }, signButton, refreshButton));

type Shown = { kind: 'eimzo'; problem: EimzoProblem; reason?: string; date?: Date } | ServiceRefusal;

const page = pageStatus<Shown, 'finding' | 'signing'>({
  sentence, statusText: (status) => t()[status], fields: [], buttons: [refreshButton, signButton], forms: [form],
});

function render(): void {
  const x = t();
  tab.textContent = x.tab;
  tab.setAttribute('aria-pressed', String(!form.hidden));
  intro.textContent = x.intro;
  refreshButton.textContent = x.refresh;
  signButton.textContent = x.signIn;
  renderKeys();
  page.redraw();
}

function renderKeys(): void {
  const dictionary = dictionaries[pageLocale()];
  const now = Date.now();
  list.replaceChildren(...keys.map((key, index) => {
    const radio = make('input', { type: 'radio', name: 'eimzo-key', value: String(index), checked: index === selected });
    radio.addEventListener('change', () => { selected = index; });
    const facts = make('dl');
    for (const [term, value] of [
      [dictionary.fieldPinfl, key.pinfl], [dictionary.fieldTin, key.tin], [dictionary.fieldOrganization, key.organization],
      [dictionary.fieldValidUntil, Number.isNaN(key.validTo.getTime()) ? undefined : formatDate(dictionary, key.validTo)],
    ] as const) {
      if (value !== undefined) facts.append(make('dt', { textContent: term }), make('dd', { textContent: value }));
    }
    const card = make('label', { className: 'identity' }, radio, make('span', { className: 'who', textContent: key.commonName }));
    if (key.validTo.getTime() < now) card.append(make('span', { className: 'badge', textContent: dictionary.expiredBadge }));
    card.append(facts);
    return card;
  }));
  if (keys.length > 1) list.setAttribute('role', 'radiogroup');
  else list.removeAttribute('role');
  signButton.hidden = keys.length === 0;
}

/** The sentence in the alert; for a missing module, followed by the link to E-IMZO's official page. */
function sentence(shown: Shown): Array<string | Node> {
  if (shown.kind === 'service') return [fill(dictionaries[pageLocale()].errors[shown.problem], client, shown.words)];
  const words = t().problems[shown.problem]
    .replaceAll('{domain}', domain)
    .replace('{reason}', shown.reason ?? '')
    .replace('{date}', shown.date === undefined ? '' : formatDate(dictionaries[pageLocale()], shown.date));
  if (shown.problem !== 'module_missing') return [words];
  const link = make('a', { href: eimzoDownloadUrl, textContent: t().download, id: 'eimzo-download' });
  link.rel = 'noopener noreferrer';
  return [words, ' ', link];
}

/** This method on, the others' forms off; the other tabs' own handlers undo it (choose below). */
function chooseEimzo(): void {
  page.clearProblem();
  for (const other of [keyForm, signForm, document.getElementById('token-form')]) if (other !== null) other.hidden = true;
  for (const button of Array.from(document.querySelectorAll('.methods button'))) button.setAttribute('aria-pressed', String(button === tab));
  form.hidden = false;
  render();
}

/** A module failure: its reason, or the operator's missing key when the module refuses this domain. */
class ModuleRefused extends Error {
  readonly problem: EimzoProblem;
  readonly reason: string;
  constructor(problem: EimzoProblem, reason: string) {
    super(reason);
    this.problem = problem;
    this.reason = reason;
  }
}

/** A call that must succeed; a refusal naming the API key means this domain is not registered. */
async function call(request: CapiwsRequest, failure: EimzoProblem = 'module_error'): Promise<CapiwsAnswer> {
  const answer = await callCapiws(request, { protocol: window.location.protocol });
  const reason = failureReason(answer);
  if (reason === undefined) return answer;
  throw new ModuleRefused(/api[- ]?key/i.test(reason) ? 'domain_not_registered' : failure, reason);
}

function report(error: unknown): void {
  if (error instanceof ModuleUnreachable) return page.showProblem({ kind: 'eimzo', problem: 'module_missing' });
  if (error instanceof ModuleRefused) return page.showProblem({ kind: 'eimzo', problem: error.problem, reason: error.reason });
  page.showProblem({ kind: 'service', problem: 'network' });
}

/** version, apikey, then the keys E-IMZO holds. */
async function find(): Promise<void> {
  page.clearProblem();
  page.setBusy(true);
  page.setStatus('finding');
  try {
    await call({ name: 'version' });
    await call({ name: 'apikey', arguments: apiKeys }, 'domain_not_registered');
    const answer = await call({ plugin: 'pfx', name: 'list_all_certificates' });
    const entries = Array.isArray(answer.certificates) ? answer.certificates as unknown[] : [];
    selected = 0;
    keys = entries.flatMap((entry) => (typeof entry === 'object' && entry !== null ? [readKey(entry as Record<string, unknown>)] : []))
      .filter((key) => key !== undefined);
    page.setStatus(undefined);
    render();
    if (keys.length === 0) page.showProblem({ kind: 'eimzo', problem: 'no_keys' });
  } catch (error) {
    keys = [];
    render();
    report(error);
  } finally {
    page.setBusy(false);
  }
}

async function sign(): Promise<void> {
  const chosen = keys[selected];
  if (chosen === undefined) return;
  // An expired key is named before E-IMZO asks for its password: the password could not help.
  if (!(chosen.validTo.getTime() > Date.now())) return page.showProblem({ kind: 'eimzo', problem: 'key_expired', date: chosen.validTo });
  page.clearProblem();
  page.setBusy(true);
  page.setStatus('signing');
  let keyId: string | undefined;
  let destination: string | undefined;
  try {
    const { keyId: loaded } = await call({ plugin: 'pfx', name: 'load_key', arguments: [chosen.disk, chosen.path, chosen.name, chosen.alias] });
    if (typeof loaded !== 'string') throw new ModuleRefused('module_error', 'load_key gave no keyId');
    keyId = loaded;
    await call({ plugin: 'pfx', name: 'verify_password', arguments: [loaded] }, 'wrong_password');
    // The challenge only now, so the time spent typing the password does not use up its lifetime.
    const outcome = await signInWith(async (challenge) => {
      const signed = await call({ plugin: 'pkcs7', name: 'create_pkcs7', arguments: [utf8Base64(challenge), loaded, 'no'] });
      if (typeof signed.pkcs7_64 !== 'string') throw new ModuleRefused('module_error', 'create_pkcs7 gave no pkcs7_64');
      return { format: 'cms', cms: signed.pkcs7_64 };
    });
    if (!('redirectTo' in outcome)) return page.showProblem(outcome);
    page.setStatus(undefined);
    destination = outcome.redirectTo;
  } catch (error) {
    report(error);
  } finally {
    // E-IMZO keeps a loaded key until told otherwise; the page lets go of it whatever happened,
    // and before it leaves for the agency (a page navigating away may never send the request).
    if (keyId !== undefined) await callCapiws({ plugin: 'pfx', name: 'unload_key', arguments: [keyId] }, { protocol: window.location.protocol }).catch(() => undefined);
    page.setBusy(false);
  }
  if (destination !== undefined) window.location.assign(destination);
}

/** base64 of the challenge's UTF-8 bytes, as create_pkcs7 takes its data. */
function utf8Base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/** Whether the module answers on the loopback (a short wait: nothing there refuses at once). */
async function moduleAnswers(): Promise<boolean> {
  try {
    return failureReason(await callCapiws({ name: 'version' }, { protocol: window.location.protocol, timeoutMs: 3000 })) === undefined;
  } catch {
    return false;
  }
}

const methods = document.querySelector('.methods');
// E-IMZO signs with key files: below acr `high`, which the page then does not offer (keyToken.ts).
if (main !== null && keyForm !== null && methods !== null && main.dataset.level !== 'high') {
  methods.append(tab);
  keyForm.before(form);
  tab.addEventListener('click', () => {
    chooseEimzo();
    if (!page.busy) void find();
  });
  // Another method chosen: this one's form goes away (their own handlers show theirs).
  for (const other of Array.from(methods.querySelectorAll('button'))) {
    if (other !== tab) other.addEventListener('click', () => { form.hidden = true; tab.setAttribute('aria-pressed', 'false'); });
  }
  refreshButton.addEventListener('click', () => { if (!page.busy) void find(); });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!page.busy) void (keys.length > 0 ? sign() : find());
  });
  new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  render();
  // First among the methods, and chosen, when the module answers.
  void moduleAnswers().then((answers) => {
    if (answers) {
      methods.prepend(tab);
      chooseEimzo();
      void find();
    }
    document.documentElement.dataset.eimzo = answers ? 'answered' : 'absent';
  });
}
