// The E-IMZO method's sentences in Uzbek, Russian and English (eimzo.ts), kept beside it so the
// key-file dictionary stays as it is; free of the DOM, so tests read the same sentences.
import type { Locale } from './i18n.ts';

export type EimzoProblem = 'module_missing' | 'domain_not_registered' | 'no_keys' | 'key_expired' | 'wrong_password' | 'module_error';

export interface EimzoTexts {
  tab: string;
  intro: string;
  refresh: string;
  finding: string;
  signIn: string;
  signing: string;
  download: string;
  /** `{reason}`, `{domain}`, `{date}` as each needs. */
  problems: Record<EimzoProblem, string>;
}

/** E-IMZO's official download page (its makers', the State Tax Committee's). */
export const eimzoDownloadUrl = 'https://e-imzo.soliq.uz';

export const eimzoTexts: Record<Locale, EimzoTexts> = {
  uz: {
    tab: 'E-IMZO',
    intro: 'E-IMZO dasturidagi kalitingizni tanlang. Kalit parolini E-IMZO oʻz oynasida soʻraydi.',
    refresh: 'Roʻyxatni yangilash',
    finding: 'E-IMZO kalitlari oʻqilmoqda…',
    signIn: 'Imzolash va kirish',
    signing: 'E-IMZO imzolamoqda: parolni E-IMZO oynasida kiriting…',
    download: 'E-IMZO rasmiy sahifasi',
    problems: {
      module_missing: 'E-IMZO dasturi bu kompyuterda ishlamayapti. Uni ishga tushiring yoki rasmiy sahifadan oʻrnating va «Roʻyxatni yangilash» tugmasini bosing.',
      domain_not_registered: 'E-IMZO bu saytni ({domain}) tanimaydi: bu domen uchun E-IMZO API kaliti roʻyxatdan oʻtmagan. Xizmat operatori {domain} uchun E-IMZO API kalitini olib, uni EIMZO_API_KEYS sozlamasiga qoʻshishi kerak.',
      no_keys: 'E-IMZO hech qanday kalit topmadi. Kalitingiz bor diskni (DSKEYS papkasi) ulang va «Roʻyxatni yangilash» tugmasini bosing.',
      key_expired: 'Bu kalitning sertifikati {date} kuni muddati tugagan. Boshqa kalitni tanlang yoki roʻyxatga olish markazidan yangisini oling.',
      wrong_password: 'E-IMZO parolni qabul qilmadi: {reason}. Kalitni tanlab, qaytadan urinib koʻring.',
      module_error: 'E-IMZO soʻrovni bajarmadi: {reason}.',
    },
  },
  ru: {
    tab: 'E-IMZO',
    intro: 'Выберите ключ из программы E-IMZO. Пароль ключа E-IMZO спросит в своём окне.',
    refresh: 'Обновить список',
    finding: 'Чтение ключей E-IMZO…',
    signIn: 'Подписать и войти',
    signing: 'E-IMZO подписывает: введите пароль в окне E-IMZO…',
    download: 'Официальная страница E-IMZO',
    problems: {
      module_missing: 'Программа E-IMZO не запущена на этом компьютере. Запустите её или установите с официальной страницы и нажмите «Обновить список».',
      domain_not_registered: 'E-IMZO не признаёт этот сайт ({domain}): API-ключ E-IMZO для этого домена не зарегистрирован. Оператор сервиса должен получить API-ключ E-IMZO для {domain} и добавить его в настройку EIMZO_API_KEYS.',
      no_keys: 'E-IMZO не нашёл ни одного ключа. Подключите диск с ключом (папка DSKEYS) и нажмите «Обновить список».',
      key_expired: 'Срок действия сертификата этого ключа истёк {date}. Выберите другой ключ или получите новый в центре регистрации.',
      wrong_password: 'E-IMZO не принял пароль: {reason}. Выберите ключ и попробуйте снова.',
      module_error: 'E-IMZO не выполнил запрос: {reason}.',
    },
  },
  en: {
    tab: 'E-IMZO',
    intro: 'Choose your key in E-IMZO. E-IMZO asks for the key\'s password in its own window.',
    refresh: 'Refresh the list',
    finding: 'Reading the keys in E-IMZO…',
    signIn: 'Sign and sign in',
    signing: 'E-IMZO is signing: type the password in the E-IMZO window…',
    download: 'E-IMZO\'s official page',
    problems: {
      module_missing: 'E-IMZO is not running on this computer. Start it, or install it from its official page, then press "Refresh the list".',
      domain_not_registered: 'E-IMZO does not accept this site ({domain}): no E-IMZO API key is registered for this domain. The service\'s operator must obtain an E-IMZO API key for {domain} and add it to the EIMZO_API_KEYS setting.',
      no_keys: 'E-IMZO found no key. Connect the drive with your key (the DSKEYS folder) and press "Refresh the list".',
      key_expired: 'The certificate of this key expired on {date}. Choose another key, or get a new one at a registration centre.',
      wrong_password: 'E-IMZO did not accept the password: {reason}. Choose the key and try again.',
      module_error: 'E-IMZO could not do it: {reason}.',
    },
  },
};
