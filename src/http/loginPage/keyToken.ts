// The "key token" way on the sign-in page (bundled with browser.ts): beside the key file, the
// citizen signs with a key on a hardware token through the local signing agent (agent/).
// The page finds the agent on the loopback, lists the token's certificates, sends the PIN and
// the challenge to the agent — which signs the challenge framed with this page's origin, on
// the token — and posts the result to /login/{interactionId} like a key-file signature.
// Without an agent, or with one older than the page works with, it offers the agent's
// packages this service serves (GET /downloads/agent) with the steps to install one.
//
// It builds its own part of the page (no HTML strings: the CSP enforces Trusted Types) and
// keeps its sentences here, so the key-file flow and its dictionary stay as they are; the
// service's error sentences are the dictionary's.
import { agentOrigin } from '../../login/originBinding.ts';
import { isRecentEnough, minimumAgentVersion } from '../../token/agentRelease.ts';
import { dictionaries, fill, formatDate, type Locale } from './i18n.ts';
import { make, pageLocale, signInWith, type ServiceRefusal, type Signature } from './pageParts.ts';
import { pageStatus } from './pageStatus.ts';

type TokenProblem =
  | 'agent_missing' | 'agent_too_old' | 'no_certificates' | 'choose_certificate' | 'pin_missing'
  | 'pin_incorrect' | 'pin_final_try' | 'pin_locked' | 'token_removed' | 'no_module' | 'busy' | 'token_error';

interface Texts {
  fileTab: string;
  tokenTab: string;
  tokenIntro: string;
  find: string;
  finding: string;
  pinLabel: string;
  signIn: string;
  signing: string;
  installHeading: string;
  install: string;
  /** `{size}`: megabytes. */
  debLink: string;
  /** `{file}`: the package's file name. */
  debSteps: readonly string[];
  checksum: string;
  noPackage: string;
  lockedBadge: string;
  tokenField: string;
  problems: Record<TokenProblem, string>;
}

const texts: Record<Locale, Texts> = {
  uz: {
    fileTab: 'Kalit fayli',
    tokenTab: 'Kalit tokeni',
    tokenIntro: 'Tokeningizni (yoki ID-kartangizni) ulang va uni qidiring.',
    find: 'Tokenni qidirish',
    finding: 'Token qidirilmoqda…',
    pinLabel: 'Token PIN-kodi',
    signIn: 'Imzolash va kirish',
    signing: 'Token imzolamoqda…',
    installHeading: 'Yagona ID agenti kerak',
    install: 'Token bilan kirish uchun kompyuteringizga Yagona ID imzolash agentini oʻrnating. U kompyuteringizga har kirganingizda oʻzi ishga tushadi.',
    debLink: 'Linux (Debian, Ubuntu) uchun yuklab olish — .deb, {size} MB',
    debSteps: [
      'Yuqoridagi paketni yuklab oling.',
      'Uni dasturlarni oʻrnatish ilovasida oching yoki terminalda bajaring: sudo apt install ./{file}',
      'Agentni ishga tushiring: tizimdan chiqib, qayta kiring yoki terminalda bajaring: systemctl --user start yagona-agent',
      'Tokeningizni ulang va «Tokenni qidirish» tugmasini bosing.',
    ],
    checksum: 'SHA-256 nazorat yigʻindisi',
    noPackage: 'Bu xizmat hozircha sizning tizimingiz uchun agent paketini taklif qilmaydi. Kalit fayli bilan kiring.',
    lockedBadge: 'PIN bloklangan',
    tokenField: 'Token',
    problems: {
      agent_missing: 'Yagona ID agenti topilmadi. Uni oʻrnating yoki ishga tushiring va qaytadan urinib koʻring.',
      agent_too_old: 'Kompyuteringizdagi Yagona ID agenti ({version}) eskirgan: {minimum} yoki undan yangi versiya kerak. Yangisini quyidan oʻrnating.',
      no_certificates: 'Ulangan tokenda kirish uchun sertifikat topilmadi. Tokenni tekshirib, qaytadan qidiring.',
      choose_certificate: 'Kirish uchun sertifikatni tanlang.',
      pin_missing: 'Token PIN-kodini kiriting.',
      pin_incorrect: 'PIN-kod notoʻgʻri. Qaytadan kiriting.',
      pin_final_try: 'PIN-kod notoʻgʻri. Diqqat: yana bir xato PIN tokenni bloklaydi.',
      pin_locked: 'Token PIN-kodi bloklangan. Uni PUK-kod bilan oching yoki sertifikatlash markaziga murojaat qiling.',
      token_removed: 'Token uzildi. Uni qayta ulang va qaytadan qidiring.',
      no_module: 'Agent tokeningiz modulini yuklay olmadi. Agentni toʻgʻri --module bilan ishga tushiring.',
      busy: 'Token boshqa soʻrov bilan band. Bir oz kutib, qaytadan urinib koʻring.',
      token_error: 'Token soʻrovni bajarmadi. Tokenni qayta ulab, qaytadan urinib koʻring.',
    },
  },
  ru: {
    fileTab: 'Файл ключа',
    tokenTab: 'Ключевой токен',
    tokenIntro: 'Подключите токен (или ID-карту) и найдите его.',
    find: 'Найти токен',
    finding: 'Поиск токена…',
    pinLabel: 'PIN-код токена',
    signIn: 'Подписать и войти',
    signing: 'Токен подписывает…',
    installHeading: 'Нужен агент Yagona ID',
    install: 'Чтобы войти с токеном, установите на компьютер агент подписи Yagona ID. Он запускается сам при каждом входе в систему.',
    debLink: 'Скачать для Linux (Debian, Ubuntu) — .deb, {size} МБ',
    debSteps: [
      'Скачайте пакет по ссылке выше.',
      'Откройте его в программе установки приложений или выполните в терминале: sudo apt install ./{file}',
      'Запустите агент: выйдите из системы и войдите снова или выполните в терминале: systemctl --user start yagona-agent',
      'Подключите токен и нажмите «Найти токен».',
    ],
    checksum: 'Контрольная сумма SHA-256',
    noPackage: 'Этот сервис пока не предлагает пакет агента для вашей системы. Войдите с файлом ключа.',
    lockedBadge: 'PIN заблокирован',
    tokenField: 'Токен',
    problems: {
      agent_missing: 'Агент Yagona ID не найден. Установите или запустите его и попробуйте снова.',
      agent_too_old: 'Агент Yagona ID на этом компьютере ({version}) устарел: нужна версия {minimum} или новее. Установите новую версию ниже.',
      no_certificates: 'На подключённом токене нет сертификата для входа. Проверьте токен и найдите его снова.',
      choose_certificate: 'Выберите сертификат для входа.',
      pin_missing: 'Введите PIN-код токена.',
      pin_incorrect: 'Неверный PIN-код. Введите его снова.',
      pin_final_try: 'Неверный PIN-код. Внимание: ещё одна ошибка заблокирует токен.',
      pin_locked: 'PIN-код токена заблокирован. Разблокируйте его PUK-кодом или обратитесь в удостоверяющий центр.',
      token_removed: 'Токен отключён. Подключите его и найдите снова.',
      no_module: 'Агент не смог загрузить модуль вашего токена. Запустите агент с правильным --module.',
      busy: 'Токен занят другим запросом. Подождите немного и попробуйте снова.',
      token_error: 'Токен не выполнил запрос. Переподключите токен и попробуйте снова.',
    },
  },
  en: {
    fileTab: 'Key file',
    tokenTab: 'Key token',
    tokenIntro: 'Connect your token (or ID card) and find it.',
    find: 'Find my token',
    finding: 'Looking for the token…',
    pinLabel: 'Token PIN',
    signIn: 'Sign and sign in',
    signing: 'The token is signing…',
    installHeading: 'The Yagona ID agent is needed',
    install: 'To sign in with a token, install the Yagona ID signing agent on this computer. It starts by itself each time you sign in to the computer.',
    debLink: 'Download for Linux (Debian, Ubuntu) — .deb, {size} MB',
    debSteps: [
      'Download the package above.',
      'Open it with your software installer, or run in a terminal: sudo apt install ./{file}',
      'Start the agent: sign out and back in, or run in a terminal: systemctl --user start yagona-agent',
      'Connect your token and press "Find my token".',
    ],
    checksum: 'SHA-256 checksum',
    noPackage: 'This service does not offer the agent for your system yet. Sign in with a key file.',
    lockedBadge: 'PIN locked',
    tokenField: 'Token',
    problems: {
      agent_missing: 'The Yagona ID agent was not found. Install or start it, and try again.',
      agent_too_old: 'The Yagona ID agent on this computer ({version}) is too old: version {minimum} or newer is needed. Install the new one below.',
      no_certificates: 'The connected token holds no certificate to sign in with. Check the token and look for it again.',
      choose_certificate: 'Choose the certificate to sign in with.',
      pin_missing: 'Type the token\'s PIN.',
      pin_incorrect: 'Wrong PIN. Type it again.',
      pin_final_try: 'Wrong PIN. Careful: one more wrong PIN locks the token.',
      pin_locked: 'The token\'s PIN is locked. Unblock it with its PUK or contact your certification centre.',
      token_removed: 'The token was disconnected. Connect it and look for it again.',
      no_module: 'The agent could not load your token\'s module. Start the agent with the right --module.',
      busy: 'The token is busy with another request. Wait a moment and try again.',
      token_error: 'The token did not complete the request. Reconnect it and try again.',
    },
  },
};

interface Listed {
  id: string;
  token: string;
  subject: string;
  issuer: string;
  notAfter: string;
  slot: string;
}

const main = document.getElementById('main');
const keyForm = document.getElementById('key-form');
const signForm = document.getElementById('sign-form');

const t = () => texts[pageLocale()];
const client = main?.dataset.client ?? '';

interface Download {
  platform: string;
  name: string;
  url: string;
  bytes: number;
  sha256: string;
}

let certificates: Listed[] = [];
/** The service's agent packages; undefined until first needed. */
let downloads: Download[] | undefined;
/** The version a too-old agent answered with, for its sentence. */
let foundVersion = '';
let locked = new Set<string>();

const fileTab = make('button', { type: 'button', className: 'secondary', id: 'method-file' });
const tokenTab = make('button', { type: 'button', className: 'secondary', id: 'method-token' });
const methods = make('div', { className: 'actions methods' }, fileTab, tokenTab);
const intro = make('p', { className: 'hint' });
const findButton = make('button', { type: 'button', className: 'secondary', id: 'token-find' });
const list = make('div', { id: 'token-certificates' });
const pinLabel = make('label', { htmlFor: 'token-pin' });
const pinInput = make('input', { type: 'password', id: 'token-pin', autocomplete: 'off', spellcheck: false, inputMode: 'numeric' });
const pinField = make('div', { className: 'field', hidden: true }, pinLabel, pinInput);
const signButton = make('button', { type: 'submit', className: 'primary', id: 'token-sign', hidden: true });
const installHeading = make('h2', { id: 'token-install-heading' });
const installText = make('p', { className: 'hint' });
const installDownloads = make('div', { id: 'token-downloads' });
const installHelp = make('section', { id: 'token-install', hidden: true }, installHeading, installText, installDownloads);
installHelp.setAttribute('aria-labelledby', installHeading.id);
// Only the Linux package is built so far (README "Installing the agent"); other systems are told so.
const onLinux = /\b(Linux|X11)\b/.test(navigator.userAgent) && !/Android/i.test(navigator.userAgent);
const tokenForm = make('form', { id: 'token-form', className: 'card', hidden: true, noValidate: true },
  intro, list, pinField, make('div', { className: 'actions' }, findButton, signButton), installHelp);

type Shown = { kind: 'token'; problem: TokenProblem } | ServiceRefusal;

const page = pageStatus<Shown, 'finding' | 'signing'>({
  sentence, statusText: (status) => t()[status], fields: [pinInput], buttons: [findButton, signButton], forms: [tokenForm],
});

function render(): void {
  const x = t();
  fileTab.textContent = x.fileTab;
  tokenTab.textContent = x.tokenTab;
  fileTab.setAttribute('aria-pressed', String(keyForm?.hidden === false || signForm?.hidden === false));
  tokenTab.setAttribute('aria-pressed', String(!tokenForm.hidden));
  intro.textContent = x.tokenIntro;
  findButton.textContent = x.find;
  pinLabel.textContent = x.pinLabel;
  signButton.textContent = x.signIn;
  installHeading.textContent = x.installHeading;
  installText.textContent = x.install;
  renderDownloads();
  renderCertificates();
  page.redraw();
}

function renderCertificates(): void {
  const x = t();
  const dictionary = dictionaries[pageLocale()];
  list.replaceChildren(...certificates.map((entry, index) => {
    const radio = make('input', { type: 'radio', name: 'token-certificate', value: entry.id, checked: index === 0 });
    const facts = make('dl');
    for (const [term, value] of [[dictionary.fieldIssuer, entry.issuer], [dictionary.fieldValidUntil, formatDate(dictionary, new Date(entry.notAfter))], [x.tokenField, entry.token]] as const) {
      facts.append(make('dt', { textContent: term }), make('dd', { textContent: value }));
    }
    const card = make('label', { className: 'identity' }, radio, make('span', { className: 'who', textContent: commonName(entry.subject) }));
    if (locked.has(entry.slot)) card.append(make('span', { className: 'badge', textContent: x.lockedBadge }));
    card.append(facts);
    return card;
  }));
  if (certificates.length > 1) list.setAttribute('role', 'radiogroup');
  else list.removeAttribute('role');
  pinField.hidden = certificates.length === 0;
  signButton.hidden = certificates.length === 0;
}

function renderDownloads(): void {
  const x = t();
  if (downloads === undefined) return installDownloads.replaceChildren();
  const deb = downloads.find((download) => download.platform === 'linux-deb');
  const parts: Node[] = [];
  if (deb !== undefined) {
    const link = make('a', { href: deb.url, className: 'download', textContent: x.debLink.replace('{size}', (deb.bytes / 1_000_000).toFixed(0)) });
    link.setAttribute('download', deb.name);
    parts.push(
      link,
      make('ol', { className: 'steps' }, ...x.debSteps.map((step) => make('li', { textContent: step.replace('{file}', deb.name) }))),
      make('p', { className: 'hint checksum' }, document.createTextNode(`${x.checksum}: `), make('code', { textContent: deb.sha256 })),
    );
  }
  if (deb === undefined || !onLinux) parts.push(make('p', { className: 'hint', textContent: x.noPackage }));
  installDownloads.replaceChildren(...parts);
}

/** The install help with the packages this service offers (asked for once). */
async function showInstall(): Promise<void> {
  installHelp.hidden = false;
  if (downloads === undefined) {
    try {
      const response = await fetch('/downloads/agent', { credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
      downloads = response.ok ? ((await response.json()) as { downloads?: Download[] }).downloads ?? [] : [];
    } catch {
      downloads = [];
    }
  }
  renderDownloads();
}

function commonName(subject: string): string {
  return /(?:^|,)CN=((?:\\,|[^,])+)/.exec(subject)?.[1]?.replace(/\\(.)/g, '$1') ?? subject;
}

function sentence(current: Shown): string {
  if (current.kind === 'service') return fill(dictionaries[pageLocale()].errors[current.problem], client, current.words);
  return t().problems[current.problem].replace('{version}', foundVersion).replace('{minimum}', minimumAgentVersion);
}

function choose(method: 'file' | 'token'): void {
  page.clearProblem();
  tokenForm.hidden = method !== 'token';
  // Back on the key file, its first step: the file and password are asked again.
  if (keyForm !== null) keyForm.hidden = method === 'token';
  if (signForm !== null) signForm.hidden = true;
  render();
}

class AgentMissing extends Error {}

/** The agent answered, refusing (a wrong PIN, a removed token): one of our sentences. */
class AgentRefused extends Error {
  readonly problem: TokenProblem;
  constructor(problem: TokenProblem) {
    super(problem);
    this.problem = problem;
  }
}

async function agent(path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${agentOrigin}${path}`, { ...init, mode: 'cors', credentials: 'omit', cache: 'no-store', redirect: 'error' });
  } catch (error) {
    throw new AgentMissing('no agent on the loopback', { cause: error });
  }
}

/** The agent's problem `code`, as one of our sentences. */
async function agentProblem(response: Response): Promise<TokenProblem> {
  const body = (await response.json().catch(() => ({}))) as { code?: unknown; pinFinalTry?: unknown };
  switch (body.code) {
    case 'pin_incorrect': return body.pinFinalTry === true ? 'pin_final_try' : 'pin_incorrect';
    case 'pin_locked': case 'token_removed': case 'no_module': case 'busy': return body.code;
    case 'certificate_not_found': return 'token_removed';
    default: return 'token_error';
  }
}

async function find(): Promise<void> {
  page.clearProblem();
  page.setBusy(true);
  page.setStatus('finding');
  installHelp.hidden = true;
  try {
    const status = await agent('/v1/status');
    if (!status.ok) return page.showProblem({ kind: 'token', problem: await agentProblem(status) });
    const { version } = (await status.json()) as { version?: unknown };
    if (!isRecentEnough(version)) {
      foundVersion = typeof version === 'string' || typeof version === 'number' ? String(version) : '?';
      await showInstall();
      return page.showProblem({ kind: 'token', problem: 'agent_too_old' });
    }
    const response = await agent('/v1/certificates');
    if (!response.ok) return page.showProblem({ kind: 'token', problem: await agentProblem(response) });
    const body = (await response.json()) as { certificates?: Listed[]; tokens?: Array<{ slot: string; pinLocked: boolean }> };
    certificates = body.certificates ?? [];
    locked = new Set((body.tokens ?? []).filter((token) => token.pinLocked).map((token) => token.slot));
    page.setStatus(undefined);
    render();
    if (certificates.length === 0) return page.showProblem({ kind: 'token', problem: 'no_certificates' });
    pinInput.focus();
  } catch (error) {
    if (!(error instanceof AgentMissing)) throw error;
    await showInstall();
    page.showProblem({ kind: 'token', problem: 'agent_missing' });
  } finally {
    page.setBusy(false);
  }
}

async function sign(): Promise<void> {
  const chosen = list.querySelector<HTMLInputElement>('input[name="token-certificate"]:checked')?.value;
  if (chosen === undefined) return page.showProblem({ kind: 'token', problem: 'choose_certificate' });
  if (pinInput.value === '') return page.showProblem({ kind: 'token', problem: 'pin_missing' }, pinInput);
  page.clearProblem();
  page.setBusy(true);
  page.setStatus('signing');
  try {
    const outcome = await signInWith(async (challenge) => {
      const signed = await agent('/v1/sign', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ certificate: chosen, pin: pinInput.value, challenge }),
      });
      if (!signed.ok) throw new AgentRefused(await agentProblem(signed));
      // The PIN has done its work on the token; it is not kept in the page.
      pinInput.value = '';
      return (await signed.json()) as Signature;
    });
    if ('redirectTo' in outcome) window.location.assign(outcome.redirectTo);
    else page.showProblem(outcome);
  } catch (error) {
    if (error instanceof AgentRefused) return page.showProblem({ kind: 'token', problem: error.problem }, error.problem.startsWith('pin_') ? pinInput : undefined);
    if (error instanceof AgentMissing) {
      await showInstall();
      return page.showProblem({ kind: 'token', problem: 'agent_missing' });
    }
    page.showProblem({ kind: 'service', problem: 'network' });
  } finally {
    page.setBusy(false);
  }
}

/** The agency asked for acr `high` (docs/api.md "Levels"): only a key token reaches it, so the page offers nothing else. */
const tokenOnly = main?.dataset.level === 'high';

if (main !== null && keyForm !== null) {
  keyForm.before(methods, tokenForm);
  if (tokenOnly) {
    fileTab.remove();
    choose('token');
  }
  fileTab.addEventListener('click', () => choose('file'));
  tokenTab.addEventListener('click', () => choose('token'));
  findButton.addEventListener('click', () => { if (!page.busy) void find(); });
  // Enter in the PIN field signs; before a listing there is nothing to sign with.
  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!page.busy) void (certificates.length > 0 ? sign() : find());
  });
  // The language switch (browser.ts) sets <html lang>; our sentences follow it.
  new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  render();
}
