// Every sentence of the citizen's sign-in page in Uzbek (Latin script, the default), Russian
// and English. Shared by the server template (first paint in the requested language) and the
// browser bundle (the language switch and the error messages). The types make a missing
// sentence a compile error: every error code of docs/errors.md and every key-file problem has one in each.
import type { ErrorCode } from '../../errors.ts';
import type { KeyFileProblem } from '../../pki/browser/keyFile.ts';

export const locales = ['uz', 'ru', 'en'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'uz';

/** Problems the page finds itself, before or instead of an answer from the service. */
export type PageProblem = 'file_missing' | 'file_type' | 'file_too_large' | 'network' | 'browser_unsupported';
export type Problem = ErrorCode | KeyFileProblem | PageProblem;

export interface Dictionary {
  /** The language's own name, for the switch. */
  name: string;
  title: string;
  /** `{client}` is replaced by the agency app's name. */
  intro: string;
  language: string;
  fileLabel: string;
  fileHint: string;
  chooseFile: string;
  noFile: string;
  passwordLabel: string;
  passwordHint: string;
  open: string;
  opening: string;
  checkHeading: string;
  chooseOne: string;
  fieldPinfl: string;
  fieldTin: string;
  fieldOrganization: string;
  fieldIssuer: string;
  fieldValidUntil: string;
  expiredBadge: string;
  signIn: string;
  signing: string;
  another: string;
  redirecting: string;
  privacy: string;
  noscript: string;
  // The other pages (src/http/pages.ts).
  errorTitle: string;
  errorBadRequest: string;
  errorExpired: string;
  errorDetail: string;
  logoutDoneTitle: string;
  logoutDone: string;
  logoutNothingTitle: string;
  logoutNothing: string;
  // The continue page of single sign-on: `{name}` is the citizen's name from the certificate.
  continueTitle: string;
  continueIntro: string;
  continueReceives: string;
  claimSub: string;
  claimProfile: string;
  claimNationalId: string;
  claimOrganization: string;
  continueButton: string;
  anotherKey: string;
  continueNoSignature: string;
  // The logout pages: `{count}` is how many other applications share the session.
  logoutAgencyTitle: string;
  logoutAgency: string;
  logoutAll: string;
  logoutNothingLeft: string;
  logoutChooseTitle: string;
  logoutChoose: string;
  logoutThisAgency: string;
  logoutAllAgencies: string;
  logoutForeignTitle: string;
  logoutForeign: string;
  logoutConfirm: string;
  backToClient: string;
  // The citizen's own page (/account): `{name}` from the certificate, `{date}` and `{time}` of the signature.
  accountTitle: string;
  accountSignedIn: string;
  accountSignedAt: string;
  accountLevelHigh: string;
  accountLevelSubstantial: string;
  accountAgencies: string;
  accountNoAgencies: string;
  accountSignOutEverywhere: string;
  accountNone: string;
  accountSignedOut: string;
  /** `{d}`, `{m}` (a name from `months`) and `{y}`: dates are spelled here, not by the browser's ICU data. */
  datePattern: string;
  months: readonly string[];
  errors: Record<Problem, string>;
}

const uz: Dictionary = {
  name: 'Oʻzbekcha',
  title: 'Yagona ID orqali kirish',
  intro: '«{client}» sizdan elektron raqamli imzo kalitingiz bilan kirishingizni soʻramoqda.',
  language: 'Til',
  fileLabel: 'Kalit fayli (.p12 yoki .pfx)',
  fileHint: 'Kalit fayli va parol shu qurilmadan tashqariga chiqmaydi.',
  chooseFile: 'Faylni tanlash',
  noFile: 'Fayl tanlanmagan',
  passwordLabel: 'Kalit paroli',
  passwordHint: 'Kalit faylini olganingizda berilgan parol.',
  open: 'Kalitni ochish',
  opening: 'Kalit ochilmoqda…',
  checkHeading: 'Sertifikatni tekshiring',
  chooseOne: 'Faylda bir nechta sertifikat bor. Kirish uchun birini tanlang.',
  fieldPinfl: 'JShShIR',
  fieldTin: 'STIR',
  fieldOrganization: 'Tashkilot',
  fieldIssuer: 'Sertifikatni bergan',
  fieldValidUntil: 'Amal qilish muddati',
  expiredBadge: 'Muddati oʻtgan',
  signIn: 'Imzolash va kirish',
  signing: 'Imzolanmoqda…',
  another: 'Boshqa kalit faylini tanlash',
  redirecting: '«{client}»ga qaytilmoqda…',
  privacy: 'Kalitingiz faqat shu sahifada ochiladi va imzolaydi: parol ham, shaxsiy kalit ham hech qayerga yuborilmaydi.',
  noscript: 'Bu sahifa ishlashi uchun brauzeringizda JavaScript yoqilgan boʻlishi kerak: kalit faqat brauzeringiz ichida ochiladi.',
  errorTitle: 'Kirishni davom ettirib boʻlmaydi',
  errorBadRequest: 'Sizni bu yerga yuborgan ilova Yagona ID qabul qila olmaydigan soʻrov yubordi. Ilovaga qayting va qaytadan boshlang; bu takrorlansa, ilovaning yordam xizmatiga xabar bering.',
  errorExpired: 'Bu kirish sahifasining muddati tugagan yoki u boshqa brauzerda ochilgan. Ilovaga qayting va kirishni qaytadan boshlang.',
  errorDetail: 'Ilova ishlab chiquvchilari uchun:',
  logoutDoneTitle: 'Siz tizimdan chiqdingiz',
  logoutDone: 'Yagona ID orqali kirishingiz yakunlandi. Bu oynani yopishingiz mumkin.',
  logoutNothingTitle: 'Hech narsa yakunlanmadi',
  logoutNothing: 'Hech qanday kirish yakunlanmadi: foydalangan ilovangizdan chiqing, u Yagona IDdan seansingizni yakunlashni soʻraydi.',
  continueTitle: '«{client}»ga davom etish',
  continueIntro: 'Siz Yagona IDga {name} sifatida kirgansiz. Kalitni qayta ochmasdan «{client}»ga davom etasizmi?',
  continueReceives: '«{client}» quyidagilarni oladi:',
  claimSub: 'faqat shu ilova uchun sizning identifikatoringiz',
  claimProfile: 'ismingiz va familiyangiz',
  claimNationalId: 'JShShIR va STIR raqamingiz',
  claimOrganization: 'tashkilotingiz va lavozimingiz',
  continueButton: 'Davom etish',
  anotherKey: 'Boshqa kalit bilan kirish',
  continueNoSignature: 'Davom etish yangi imzo talab qilmaydi: ilova avvalgi kirishingiz vaqtini va darajasini oladi.',
  logoutAgencyTitle: '«{client}»dan chiqdingiz',
  logoutAgency: 'Yagona ID orqali kirgan boshqa ilovalaringizda seansingiz davom etmoqda.',
  logoutAll: 'Yagona ID orqali kirgan barcha ilovalardan chiqdingiz. Bu oynani yopishingiz mumkin.',
  logoutNothingLeft: 'Yakunlanadigan hech narsa qolmagan edi: «{client}»ga kirishingiz allaqachon yakunlangan.',
  logoutChooseTitle: 'Tizimdan chiqish',
  logoutChoose: 'Siz Yagona ID orqali «{client}»dan tashqari yana {count} ta ilovaga kirgansiz. Qayerdan chiqasiz?',
  logoutThisAgency: 'Faqat «{client}»dan chiqish',
  logoutAllAgencies: 'Barcha ilovalardan chiqish',
  logoutForeignTitle: '«{client}»dan chiqasizmi?',
  logoutForeign: '«{client}» bu brauzerda boshlanmagan kirishni yakunlashni soʻramoqda. Faqat chiqishni oʻzingiz soʻragan boʻlsangiz tasdiqlang.',
  logoutConfirm: '«{client}»dan chiqish',
  backToClient: '«{client}»ga qaytish',
  accountTitle: 'Yagona ID seansingiz',
  accountSignedIn: 'Bu brauzerda siz {name} sifatida kirgansiz.',
  accountSignedAt: 'Kalit bilan imzolangan: {date}, {time}.',
  accountLevelHigh: 'Kirish darajasi: yuqori (kalit tokeni).',
  accountLevelSubstantial: 'Kirish darajasi: sezilarli (kalit fayli).',
  accountAgencies: 'Ushbu seans orqali kirgan ilovalaringiz:',
  accountNoAgencies: 'Bu seansda hali hech qaysi ilovaga kirilmagan.',
  accountSignOutEverywhere: 'Hamma joydan chiqish',
  accountNone: 'Bu brauzerda Yagona ID orqali kirilmagan. Istalgan davlat xizmati ilovasida «Yagona ID orqali kirish» tugmasini bosing.',
  accountSignedOut: 'Siz hamma joydan chiqdingiz: bu sertifikat bilan ochilgan barcha seanslar va ilovalardagi kirishlar yakunlandi.',
  datePattern: '{y}-yil {d}-{m}',
  months: ['yanvar', 'fevral', 'mart', 'aprel', 'may', 'iyun', 'iyul', 'avgust', 'sentabr', 'oktabr', 'noyabr', 'dekabr'],
  errors: {
    invalid_request: 'Kirish soʻrovi qabul qilinmadi. Qaytadan urinib koʻring.',
    malformed_signature: 'Imzoni oʻqib boʻlmadi. Qaytadan urinib koʻring; takrorlansa, kalit faylingiz shikastlangan boʻlishi mumkin.',
    unsupported_algorithm: 'Sertifikatingiz bu xizmat qabul qilmaydigan algoritmdan foydalanadi ({algorithm}). Sertifikatlash markazidan yangi kalit oling.',
    weak_algorithm: 'Sertifikatingiz eskirgan, endi xavfsiz hisoblanmaydigan algoritm yoki kalitdan foydalanadi. Sertifikatlash markazidan yangi kalit oling.',
    challenge_invalid: 'Kirish uchun bir martalik kodning vaqti tugadi. Tugmani yana bir bor bosing.',
    signature_invalid: 'Imzo sertifikatga mos kelmadi. Qaytadan urinib koʻring yoki boshqa kalit faylini tanlang.',
    certificate_untrusted: 'Bu sertifikatni Yagona ID ishonadigan sertifikatlash markazi bermagan. Boshqa kalit faylini tanlang.',
    certificate_expired: 'Bu sertifikatning amal qilish muddati tugagan. Boshqa kalit faylini tanlang yoki sertifikatlash markazida sertifikatingizni yangilang.',
    certificate_not_yet_valid: 'Bu sertifikat hali amal qilmaydi. Qurilmangizdagi sana va vaqtni tekshiring yoki boshqa kalit faylini tanlang.',
    certificate_usage_invalid: 'Bu sertifikat bilan tizimga kirib boʻlmaydi. Boshqa kalit faylini tanlang.',
    certificate_revoked: 'Bu sertifikat bekor qilingan va undan endi foydalanib boʻlmaydi. Boshqa kalit faylini tanlang yoki sertifikatlash markaziga murojaat qiling.',
    revocation_unknown: 'Sertifikat holatini hozir tekshirib boʻlmadi. Bir daqiqadan soʻng qaytadan urinib koʻring.',
    session_invalid: 'Seansingiz tugagan. Ilovaga qaytib, qaytadan kiring.',
    not_found: 'Bu kirish sahifasining muddati tugagan yoki u boshqa brauzerda ochilgan. «{client}»ga qaytib, kirishni qaytadan boshlang.',
    payload_too_large: 'Imzo yuborish uchun juda katta. Boshqa kalit faylini tanlang.',
    rate_limited: 'Urinishlar juda koʻp. Bir daqiqa kutib, qaytadan urinib koʻring.',
    unavailable: 'Yagona ID vaqtincha ishlamayapti. Bir daqiqadan soʻng qaytadan urinib koʻring.',
    internal_error: 'Bizning tomonimizda xatolik yuz berdi. Qaytadan urinib koʻring.',
    wrong_password: 'Parol notoʻgʻri. Kalit faylingiz parolini tekshirib, qaytadan kiriting.',
    unsupported_encryption: 'Bu kalit fayli brauzerlar ocha olmaydigan eski shifrlashdan (3DES yoki RC2) foydalanadi. Sertifikatlash markazidan zamonaviy shifrlangan (AES) fayl oling.',
    too_many_iterations: 'Bu kalit fayli haddan tashqari koʻp takrorlash (iteratsiya) bilan himoyalangan, uni ochish brauzeringizni uzoq vaqt band qiladi, shuning uchun u ochilmadi. Sertifikatlash markazidan odatiy parametrlar bilan yozilgan kalit faylini oling.',
    not_a_key_file: 'Bu fayl kalit fayli sifatida oʻqilmadi. .p12 yoki .pfx faylini tanlang.',
    no_private_key: 'Bu faylda shaxsiy kalit yoʻq. Sertifikatning oʻzini emas, kalit faylini tanlang.',
    no_certificate: 'Faylda kalitga mos sertifikat yoʻq. Sertifikatlash markazidan toʻliq kalit faylini oling.',
    unsupported_key: 'Bu turdagi kalitdan brauzerda foydalanib boʻlmaydi. Sertifikatlash markaziga murojaat qiling.',
    file_missing: 'Kalit faylingizni tanlang (.p12 yoki .pfx).',
    file_type: 'Bu kalit fayli emas. .p12 yoki .pfx kengaytmali faylni tanlang.',
    file_too_large: 'Bu fayl kalit fayli boʻlishi uchun juda katta. .p12 yoki .pfx faylini tanlang.',
    network: 'Yagona ID bilan aloqa yoʻq. Internet aloqangizni tekshirib, qaytadan urinib koʻring.',
    browser_unsupported: 'Bu brauzer kalit fayllarini ocha olmaydi. Chrome, Firefox, Safari yoki Edge ning yangi versiyasidan foydalaning.',
  },
};

const ru: Dictionary = {
  name: 'Русский',
  title: 'Вход через Yagona ID',
  intro: '«{client}» просит вас войти с помощью ключа электронной цифровой подписи.',
  language: 'Язык',
  fileLabel: 'Файл ключа (.p12 или .pfx)',
  fileHint: 'Файл ключа и пароль не покидают это устройство.',
  chooseFile: 'Выбрать файл',
  noFile: 'Файл не выбран',
  passwordLabel: 'Пароль ключа',
  passwordHint: 'Пароль, выданный вместе с файлом ключа.',
  open: 'Открыть ключ',
  opening: 'Ключ открывается…',
  checkHeading: 'Проверьте сертификат',
  chooseOne: 'В файле несколько сертификатов. Выберите, с каким войти.',
  fieldPinfl: 'ПИНФЛ',
  fieldTin: 'ИНН',
  fieldOrganization: 'Организация',
  fieldIssuer: 'Кем выдан',
  fieldValidUntil: 'Действителен до',
  expiredBadge: 'Срок истёк',
  signIn: 'Подписать и войти',
  signing: 'Подписание…',
  another: 'Выбрать другой файл ключа',
  redirecting: 'Возвращаемся в «{client}»…',
  privacy: 'Ключ открывается и подписывает только на этой странице: ни пароль, ни закрытый ключ никуда не отправляются.',
  noscript: 'Для работы этой страницы в браузере должен быть включён JavaScript: ключ открывается только внутри вашего браузера.',
  errorTitle: 'Вход невозможно продолжить',
  errorBadRequest: 'Приложение, которое направило вас сюда, отправило запрос, который Yagona ID не может принять. Вернитесь в приложение и начните заново; если это повторяется, сообщите в службу поддержки приложения.',
  errorExpired: 'Срок этой страницы входа истёк, или она открыта в другом браузере. Вернитесь в приложение и начните вход заново.',
  errorDetail: 'Для разработчиков приложения:',
  logoutDoneTitle: 'Вы вышли из системы',
  logoutDone: 'Ваш вход через Yagona ID завершён. Это окно можно закрыть.',
  logoutNothingTitle: 'Ничего не завершено',
  logoutNothing: 'Ни один вход не завершён: выйдите из приложения, которым пользовались, — оно попросит Yagona ID завершить ваш сеанс.',
  continueTitle: 'Продолжить в «{client}»',
  continueIntro: 'Вы вошли в Yagona ID как {name}. Продолжить в «{client}», не открывая ключ ещё раз?',
  continueReceives: '«{client}» получит:',
  claimSub: 'ваш идентификатор только для этого приложения',
  claimProfile: 'ваши имя и фамилию',
  claimNationalId: 'ваши ПИНФЛ и ИНН',
  claimOrganization: 'вашу организацию и должность',
  continueButton: 'Продолжить',
  anotherKey: 'Войти с другим ключом',
  continueNoSignature: 'Для продолжения новая подпись не нужна: приложение получит время и уровень вашего прежнего входа.',
  logoutAgencyTitle: 'Вы вышли из «{client}»',
  logoutAgency: 'В других приложениях, куда вы вошли через Yagona ID, сеанс продолжается.',
  logoutAll: 'Вы вышли из всех приложений, куда входили через Yagona ID. Это окно можно закрыть.',
  logoutNothingLeft: 'Завершать было нечего: ваш вход в «{client}» уже завершён.',
  logoutChooseTitle: 'Выход',
  logoutChoose: 'Через Yagona ID вы вошли не только в «{client}», но и ещё в {count} прил. Откуда выйти?',
  logoutThisAgency: 'Выйти только из «{client}»',
  logoutAllAgencies: 'Выйти из всех приложений',
  logoutForeignTitle: 'Выйти из «{client}»?',
  logoutForeign: '«{client}» просит завершить вход, начатый не в этом браузере. Подтвердите, только если выход просили вы.',
  logoutConfirm: 'Выйти из «{client}»',
  backToClient: 'Вернуться в «{client}»',
  accountTitle: 'Ваш сеанс Yagona ID',
  accountSignedIn: 'В этом браузере вы вошли как {name}.',
  accountSignedAt: 'Подписано ключом: {date}, {time}.',
  accountLevelHigh: 'Уровень входа: высокий (ключевой токен).',
  accountLevelSubstantial: 'Уровень входа: значительный (файл ключа).',
  accountAgencies: 'Приложения, в которые вы вошли в этом сеансе:',
  accountNoAgencies: 'В этом сеансе вы ещё не входили ни в одно приложение.',
  accountSignOutEverywhere: 'Выйти везде',
  accountNone: 'В этом браузере вход через Yagona ID не выполнен. Нажмите «Войти через Yagona ID» в любом приложении госуслуг.',
  accountSignedOut: 'Вы вышли везде: все сеансы этого сертификата и входы в приложения завершены.',
  datePattern: '{d} {m} {y} г.',
  months: ['января', 'февраля', 'марта', 'апреля', 'мая', 'июня', 'июля', 'августа', 'сентября', 'октября', 'ноября', 'декабря'],
  errors: {
    invalid_request: 'Запрос на вход не принят. Попробуйте ещё раз.',
    malformed_signature: 'Не удалось прочитать подпись. Попробуйте ещё раз; если ошибка повторится, файл ключа может быть повреждён.',
    unsupported_algorithm: 'Ваш сертификат использует алгоритм, который этот сервис не принимает ({algorithm}). Получите новый ключ в удостоверяющем центре.',
    weak_algorithm: 'Ваш сертификат использует устаревший, небезопасный алгоритм или ключ. Получите новый ключ в удостоверяющем центре.',
    challenge_invalid: 'Истёк срок одноразового кода для входа. Нажмите кнопку ещё раз.',
    signature_invalid: 'Подпись не соответствует сертификату. Попробуйте ещё раз или выберите другой файл ключа.',
    certificate_untrusted: 'Этот сертификат выдан не тем удостоверяющим центром, которому доверяет Yagona ID. Выберите другой файл ключа.',
    certificate_expired: 'Срок действия этого сертификата истёк. Выберите другой файл ключа или обновите сертификат в удостоверяющем центре.',
    certificate_not_yet_valid: 'Этот сертификат ещё не действует. Проверьте дату и время на устройстве или выберите другой файл ключа.',
    certificate_usage_invalid: 'С этим сертификатом нельзя входить в системы. Выберите другой файл ключа.',
    certificate_revoked: 'Этот сертификат отозван и больше не может использоваться. Выберите другой файл ключа или обратитесь в удостоверяющий центр.',
    revocation_unknown: 'Сейчас не удалось проверить статус сертификата. Попробуйте ещё раз через минуту.',
    session_invalid: 'Ваш сеанс завершён. Вернитесь в приложение и войдите снова.',
    not_found: 'Срок этой страницы входа истёк, или она открыта в другом браузере. Вернитесь в «{client}» и начните вход заново.',
    payload_too_large: 'Подпись слишком велика для отправки. Выберите другой файл ключа.',
    rate_limited: 'Слишком много попыток. Подождите минуту и попробуйте снова.',
    unavailable: 'Yagona ID временно недоступен. Попробуйте ещё раз через минуту.',
    internal_error: 'На нашей стороне произошла ошибка. Попробуйте ещё раз.',
    wrong_password: 'Неверный пароль. Проверьте пароль файла ключа и введите его снова.',
    unsupported_encryption: 'Этот файл ключа зашифрован устаревшим способом (3DES или RC2), который браузеры не умеют открывать. Получите в удостоверяющем центре файл с современным шифрованием (AES).',
    too_many_iterations: 'Этот файл ключа защищён необычно большим числом итераций: его открытие надолго заняло бы браузер, поэтому он не открыт. Получите в удостоверяющем центре файл ключа, записанный с обычными параметрами.',
    not_a_key_file: 'Не удалось прочитать этот файл как файл ключа. Выберите файл .p12 или .pfx.',
    no_private_key: 'В этом файле нет закрытого ключа. Выберите файл ключа, а не сам сертификат.',
    no_certificate: 'В файле нет сертификата для ключа. Получите полный файл ключа в удостоверяющем центре.',
    unsupported_key: 'Ключ такого типа нельзя использовать в браузере. Обратитесь в удостоверяющий центр.',
    file_missing: 'Выберите файл ключа (.p12 или .pfx).',
    file_type: 'Это не файл ключа. Выберите файл с расширением .p12 или .pfx.',
    file_too_large: 'Этот файл слишком велик для файла ключа. Выберите файл .p12 или .pfx.',
    network: 'Нет связи с Yagona ID. Проверьте подключение к интернету и попробуйте ещё раз.',
    browser_unsupported: 'Этот браузер не умеет открывать файлы ключей. Используйте свежую версию Chrome, Firefox, Safari или Edge.',
  },
};

const en: Dictionary = {
  name: 'English',
  title: 'Sign in with Yagona ID',
  intro: '“{client}” asks you to sign in with your digital signature key.',
  language: 'Language',
  fileLabel: 'Key file (.p12 or .pfx)',
  fileHint: 'Your key file and password never leave this device.',
  chooseFile: 'Choose file',
  noFile: 'No file chosen',
  passwordLabel: 'Key password',
  passwordHint: 'The password you were given with your key file.',
  open: 'Open key',
  opening: 'Opening the key…',
  checkHeading: 'Check the certificate',
  chooseOne: 'The file holds several certificates. Choose the one to sign in with.',
  fieldPinfl: 'PINFL',
  fieldTin: 'TIN',
  fieldOrganization: 'Organisation',
  fieldIssuer: 'Issued by',
  fieldValidUntil: 'Valid until',
  expiredBadge: 'Expired',
  signIn: 'Sign and continue',
  signing: 'Signing…',
  another: 'Choose another key file',
  redirecting: 'Returning to “{client}”…',
  privacy: 'Your key is opened and signs only in this page: neither the password nor the private key is sent anywhere.',
  noscript: 'This page needs JavaScript turned on: your key is opened only inside your browser.',
  errorTitle: 'Sign-in cannot continue',
  errorBadRequest: 'The application that sent you here made a request Yagona ID cannot accept. Go back to it and start again; if this keeps happening, tell the application’s support.',
  errorExpired: 'This sign-in page has expired or was opened in another browser. Go back to the application and start signing in again.',
  errorDetail: 'For the application’s developers:',
  logoutDoneTitle: 'You have signed out',
  logoutDone: 'Your Yagona ID sign-in has ended. You can close this window.',
  logoutNothingTitle: 'Nothing was signed out',
  logoutNothing: 'No sign-in was ended: sign out from the application you used, which asks Yagona ID to end your session.',
  continueTitle: 'Continue to «{client}»',
  continueIntro: 'You are signed in to Yagona ID as {name}. Continue to «{client}» without opening your key again?',
  continueReceives: '«{client}» will receive:',
  claimSub: 'an identifier of you for this application only',
  claimProfile: 'your name',
  claimNationalId: 'your PINFL and TIN',
  claimOrganization: 'your organisation and position',
  continueButton: 'Continue',
  anotherKey: 'Use another key',
  continueNoSignature: 'Continuing needs no new signature: the application receives the time and level of your earlier sign-in.',
  logoutAgencyTitle: 'You have signed out of «{client}»',
  logoutAgency: 'The other applications you signed in to through Yagona ID keep your session.',
  logoutAll: 'You have signed out of every application you signed in to through Yagona ID. You may close this window.',
  logoutNothingLeft: 'There was nothing left to end: your sign-in at «{client}» had already ended.',
  logoutChooseTitle: 'Sign out',
  logoutChoose: 'Through Yagona ID you are signed in to {count} more application(s) besides «{client}». Where do you want to sign out?',
  logoutThisAgency: 'Sign out of «{client}» only',
  logoutAllAgencies: 'Sign out of all applications',
  logoutForeignTitle: 'Sign out of «{client}»?',
  logoutForeign: '«{client}» asks to end a sign-in that was not made in this browser. Confirm only if you asked to sign out.',
  logoutConfirm: 'Sign out of «{client}»',
  backToClient: 'Back to «{client}»',
  accountTitle: 'Your Yagona ID session',
  accountSignedIn: 'In this browser you are signed in as {name}.',
  accountSignedAt: 'Signed with your key on {date} at {time}.',
  accountLevelHigh: 'Level: high (key token).',
  accountLevelSubstantial: 'Level: substantial (key file).',
  accountAgencies: 'Applications you signed in to in this session:',
  accountNoAgencies: 'You have not gone on to any application in this session yet.',
  accountSignOutEverywhere: 'Sign out everywhere',
  accountNone: 'You are not signed in through Yagona ID in this browser. Press “Sign in with Yagona ID” in any government application.',
  accountSignedOut: 'You have signed out everywhere: every session of this certificate and every application sign-in in them has ended.',
  datePattern: '{d} {m} {y}',
  months: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
  errors: {
    invalid_request: 'The sign-in request was not accepted. Please try again.',
    malformed_signature: 'The signature could not be read. Please try again; if it happens again, your key file may be damaged.',
    unsupported_algorithm: 'Your certificate uses an algorithm this service does not accept ({algorithm}). Get a new key from your certification centre.',
    weak_algorithm: 'Your certificate uses an outdated algorithm or key that is no longer considered safe. Get a new key from your certification centre.',
    challenge_invalid: 'The one-time sign-in code has expired. Press the button again.',
    signature_invalid: 'The signature does not match the certificate. Try again, or choose another key file.',
    certificate_untrusted: 'This certificate was not issued by a certification centre Yagona ID trusts. Choose another key file.',
    certificate_expired: 'This certificate has expired. Choose another key file, or renew your certificate at your certification centre.',
    certificate_not_yet_valid: 'This certificate is not valid yet. Check the date and time on your device, or choose another key file.',
    certificate_usage_invalid: 'This certificate cannot be used to sign in. Choose another key file.',
    certificate_revoked: 'This certificate has been revoked and can no longer be used. Choose another key file, or contact your certification centre.',
    revocation_unknown: 'The certificate’s status could not be checked just now. Please try again in a minute.',
    session_invalid: 'Your session has ended. Go back to the application and sign in again.',
    not_found: 'This sign-in page has expired or was opened in another browser. Go back to “{client}” and start signing in again.',
    payload_too_large: 'The signature is too large to send. Choose another key file.',
    rate_limited: 'Too many attempts. Wait a minute and try again.',
    unavailable: 'Yagona ID is temporarily unavailable. Please try again in a minute.',
    internal_error: 'Something went wrong on our side. Please try again.',
    wrong_password: 'Wrong password. Check the password of your key file and type it again.',
    unsupported_encryption: 'This key file uses an old encryption (3DES or RC2) that browsers cannot open. Ask your certification centre for a file with current encryption (AES).',
    too_many_iterations: 'This key file is protected with an unusually high number of iterations: opening it would keep your browser busy for a long time, so it was not opened. Ask your certification centre for a key file written with the usual settings.',
    not_a_key_file: 'This file could not be read as a key file. Choose a .p12 or .pfx file.',
    no_private_key: 'This file holds no private key. Choose your key file, not the certificate alone.',
    no_certificate: 'The file holds no certificate for its key. Ask your certification centre for a complete key file.',
    unsupported_key: 'This type of key cannot be used in a browser. Contact your certification centre.',
    file_missing: 'Choose your key file (.p12 or .pfx).',
    file_type: 'This is not a key file. Choose a file ending in .p12 or .pfx.',
    file_too_large: 'This file is too large to be a key file. Choose a .p12 or .pfx file.',
    network: 'No connection to Yagona ID. Check your internet connection and try again.',
    browser_unsupported: 'This browser cannot open key files. Use a current version of Chrome, Firefox, Safari or Edge.',
  },
};

/** The keys of single sentences (what `data-i18n` names). */
export type TextKey = Exclude<keyof Dictionary, 'errors' | 'months'>;

export const dictionaries: Readonly<Record<Locale, Dictionary>> = { uz, ru, en };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (locales as readonly string[]).includes(value);
}

/** A date in the dictionary's own spelling, in the reader's time zone. */
export function formatDate(dictionary: Dictionary, date: Date): string {
  return dictionary.datePattern
    .replace('{d}', String(date.getDate()))
    .replace('{m}', dictionary.months[date.getMonth()] ?? '')
    .replace('{y}', String(date.getFullYear()));
}

/** A single sentence (`data-i18n` names it) or an error's, as `errors.<code>`. */
export type SentenceKey = TextKey | `errors.${Problem}`;

export function sentenceOf(dictionary: Dictionary, key: SentenceKey): string {
  return key.startsWith('errors.') ? dictionary.errors[key.slice(7) as Problem] : dictionary[key as TextKey];
}

/** A sentence with `{client}` (the agency app's name) and any other `{name}` of `vars` filled in. */
/**
 * The words a problem's sentence names besides the client: for unsupported_algorithm, the
 * algorithm as the service's detail names it, in words and by OID ("O'zDSt 1092:2009-II
 * parameter set 1.2.860.3.15.1.1.2.1.3 is not supported" → its subject), the whole detail when
 * it has another shape, "?" without one.
 */
export function problemWords(problem: Problem, detail: unknown): Record<string, string> {
  if (problem !== 'unsupported_algorithm') return {};
  if (typeof detail !== 'string' || detail === '') return { algorithm: '?' };
  return { algorithm: /^(.+?) is not supported\b/.exec(detail)?.[1] ?? detail };
}

export function fill(sentence: string, client: string, vars: Readonly<Record<string, string>> = {}): string {
  return sentence.replace(/\{([a-z]+)\}/g, (placeholder, name: string) => (name === 'client' ? client : vars[name] ?? placeholder));
}
