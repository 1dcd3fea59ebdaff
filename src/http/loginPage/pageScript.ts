// The script of every page but the sign-in page: only the language switch.
import { startLanguageSwitch } from './languageSwitch.ts';
import { pageLocale } from './pageParts.ts';

startLanguageSwitch(pageLocale());
document.documentElement.dataset.ready = 'true';
