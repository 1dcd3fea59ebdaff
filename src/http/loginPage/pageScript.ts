// The script of every page but the sign-in page: only the language switch.
import { defaultLocale, isLocale } from './i18n.ts';
import { startLanguageSwitch } from './languageSwitch.ts';

startLanguageSwitch(isLocale(document.documentElement.lang) ? document.documentElement.lang : defaultLocale);
document.documentElement.dataset.ready = 'true';
