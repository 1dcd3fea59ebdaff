// The sign-in page in the citizen's browser (bundled by assets.ts): open the key file with the
// password, show whose certificate it is, then fetch a challenge, sign it as CMS and post it
// to /login/{interactionId} (pageParts.ts), and follow `redirectTo`. The file, the password and
// the private key stay in this page: the only requests are POST /v1/challenges ({}) and the
// signed body.
import { KeyFileError, openKeyFile, type CertificateSummary, type KeyFileIdentity } from '../../pki/browser/keyFile.ts';
import { dictionaries, fill, formatDate, type Locale, type Problem, type TextKey } from './i18n.ts';
import { startLanguageSwitch } from './languageSwitch.ts';
import { NetworkFailure, pageLocale, signInWith, type ServiceRefusal } from './pageParts.ts';
import { pageStatus } from './pageStatus.ts';
// The "key token" way beside the key file (signing through the local agent); it adds its own part of the page.
import './keyToken.ts';
// E-IMZO, the national desktop module, through its local protocol; first when it answers.
import './eimzo.ts';

// A key file is a few kilobytes; anything past this is some other file.
const maxKeyFileBytes = 1024 * 1024;

/** Errors after which signing again with the same certificate cannot help. */
const chooseAnotherFile = new Set<Problem>([
  'certificate_untrusted', 'certificate_expired', 'certificate_not_yet_valid', 'certificate_usage_invalid',
  'certificate_revoked', 'weak_algorithm', 'unsupported_algorithm', 'payload_too_large',
]);

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new TypeError(`the sign-in page lacks #${id}`);
  return found;
}

const main = element('main', HTMLElement);
const keyForm = element('key-form', HTMLFormElement);
const fileInput = element('key-file', HTMLInputElement);
const passwordInput = element('password', HTMLInputElement);
const openButton = element('open', HTMLButtonElement);
const signForm = element('sign-form', HTMLFormElement);
const checkHeading = element('check-heading', HTMLHeadingElement);
const chooseOne = element('choose-one', HTMLParagraphElement);
const identitiesBox = element('identities', HTMLDivElement);
const signButton = element('sign', HTMLButtonElement);
const anotherButton = element('another', HTMLButtonElement);
const fileName = element('file-name', HTMLSpanElement);

const client = main.dataset.client ?? '';

const state: {
  locale: Locale;
  identities: KeyFileIdentity[];
  selected: number;
  finished: boolean;
} = {
  locale: pageLocale(),
  identities: [],
  selected: 0,
  finished: false,
};

const text = (key: TextKey) => fill(dictionaries[state.locale][key], client);

const page = pageStatus<Pick<ServiceRefusal, 'problem' | 'words'>, TextKey>({
  // With what the sentence names (problemWords), kept for a change of language.
  sentence: ({ problem, words }) => fill(dictionaries[state.locale].errors[problem], client, words),
  statusText: text,
  fields: [fileInput, passwordInput],
  buttons: [openButton, signButton, anotherButton],
  forms: [keyForm, signForm],
  done: () => state.finished,
});

// ---- language -------------------------------------------------------------------------

startLanguageSwitch(state.locale, (locale) => {
  state.locale = locale;
  page.redraw();
  showFileName();
  renderIdentities();
});

/** The chosen file's name in the page's own picker (the native one speaks the browser's language). */
function showFileName(): void {
  const file = fileInput.files?.[0];
  fileName.textContent = file === undefined ? text('noFile') : file.name;
  fileName.classList.toggle('chosen', file !== undefined);
}

fileInput.addEventListener('change', showFileName);

// ---- step 1: open the key file --------------------------------------------------------

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!page.busy && !state.finished) void openFile();
});

async function openFile(): Promise<void> {
  page.clearProblem();
  const file = fileInput.files?.[0];
  if (file === undefined) return page.showProblem({ problem: 'file_missing' }, fileInput);
  if (file.size > maxKeyFileBytes) return page.showProblem({ problem: 'file_too_large' }, fileInput);
  if (globalThis.crypto?.subtle === undefined) return page.showProblem({ problem: 'browser_unsupported' });
  page.setBusy(true);
  page.setStatus('opening');
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    state.identities = await openKeyFile(bytes, passwordInput.value);
  } catch (error) {
    page.setBusy(false);
    if (!(error instanceof KeyFileError)) return page.showProblem({ problem: 'not_a_key_file' }, fileInput);
    if (error.problem === 'wrong_password') return page.showProblem({ problem: 'wrong_password' }, passwordInput);
    const looksLikeKeyFile = /\.(p12|pfx)$/i.test(file.name);
    return page.showProblem({ problem: error.problem === 'not_a_key_file' && !looksLikeKeyFile ? 'file_type' : error.problem }, fileInput);
  }
  // The password has done its work; it is not kept in the page any longer than this.
  passwordInput.value = '';
  state.selected = 0;
  page.setBusy(false);
  page.setStatus(undefined);
  keyForm.hidden = true;
  signForm.hidden = false;
  renderIdentities();
  checkHeading.focus();
}

// ---- step 2: whose certificate, then sign ---------------------------------------------

function renderIdentities(): void {
  const dictionary = dictionaries[state.locale];
  const several = state.identities.length > 1;
  chooseOne.hidden = !several;
  // Several cards are one radio group, named by the heading and the instruction.
  if (several) {
    identitiesBox.setAttribute('role', 'radiogroup');
    identitiesBox.setAttribute('aria-labelledby', 'check-heading choose-one');
  } else {
    identitiesBox.removeAttribute('role');
    identitiesBox.removeAttribute('aria-labelledby');
  }
  identitiesBox.replaceChildren(...state.identities.map((identity, index) => {
    const card = document.createElement(several ? 'label' : 'div');
    card.className = 'identity';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = displayName(identity.summary);
    if (several) {
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'identity';
      radio.value = String(index);
      radio.checked = index === state.selected;
      radio.addEventListener('change', () => { state.selected = index; });
      card.append(radio);
    }
    card.append(who);
    if (identity.summary.notAfter.getTime() < Date.now()) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = dictionary.expiredBadge;
      card.append(badge);
    }
    const facts = document.createElement('dl');
    const fact = (label: string, value: string | undefined) => {
      if (value === undefined || value === '') return;
      const term = document.createElement('dt');
      term.textContent = label;
      const detail = document.createElement('dd');
      detail.textContent = value;
      facts.append(term, detail);
    };
    const { summary } = identity;
    fact(dictionary.fieldPinfl, summary.pinfl);
    fact(dictionary.fieldTin, summary.tin);
    fact(dictionary.fieldOrganization, summary.organization);
    fact(dictionary.fieldIssuer, summary.issuer);
    fact(dictionary.fieldValidUntil, formatDate(dictionary, summary.notAfter));
    card.append(facts);
    return card;
  }));
}

function displayName(summary: CertificateSummary): string {
  const parts = [summary.surname, summary.givenName].filter((part) => part !== undefined);
  return summary.commonName ?? (parts.length > 0 ? parts.join(' ') : summary.serialHex);
}

anotherButton.addEventListener('click', () => { if (!page.busy) backToFile(); });

function backToFile(): void {
  state.identities = [];
  renderIdentities();
  signForm.hidden = true;
  keyForm.hidden = false;
  fileInput.value = '';
  passwordInput.value = '';
  showFileName();
}

signForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!page.busy && !state.finished) void signIn();
});

async function signIn(): Promise<void> {
  const identity = state.identities[state.selected];
  if (identity === undefined) return;
  page.clearProblem();
  page.setBusy(true);
  page.setStatus('signing');
  const outcome = await signInWith(async (challenge) => ({ format: 'cms', cms: base64(await identity.signChallenge(challenge)) }))
    .catch((error: unknown): ServiceRefusal => ({ kind: 'service', problem: error instanceof NetworkFailure ? 'network' : 'internal_error' }));
  if ('redirectTo' in outcome) {
    state.finished = true;
    state.identities = [];
    page.setStatus('redirecting');
    window.location.assign(outcome.redirectTo);
    return;
  }
  page.setBusy(false);
  if (outcome.problem === 'not_found') {
    // The interaction is gone: only the agency app can start a new one.
    state.finished = true;
    state.identities = [];
    signForm.hidden = true;
    keyForm.hidden = true;
    page.setBusy(false);
  } else if (chooseAnotherFile.has(outcome.problem)) {
    backToFile();
  }
  page.showProblem(outcome, chooseAnotherFile.has(outcome.problem) ? fileInput : undefined);
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

// Tells tests (and nothing else) that the handlers are in place.
document.documentElement.dataset.ready = 'true';
