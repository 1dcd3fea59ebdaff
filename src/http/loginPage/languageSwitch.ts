// The language switch of every page, in the browser: a button swaps each `data-i18n` text in
// place (placeholders from <main>'s data-* attributes) and remembers the choice in a cookie,
// so the next page the service renders is in that language too (src/http/pages.ts reads it).
import { dictionaries, fill, isLocale, sentenceOf, type Locale, type SentenceKey } from './i18n.ts';

export const localeCookie = 'yagona-locale';

/** Starts the switch; `onChange` redraws what a page builds itself. Returns the current language. */
export function startLanguageSwitch(initial: Locale, onChange: (locale: Locale) => void = () => {}): () => Locale {
  let current = initial;
  const vars = { ...document.getElementById('main')?.dataset };
  const buttons = document.querySelectorAll<HTMLButtonElement>('button.lang');
  const apply = (locale: Locale) => {
    current = locale;
    document.documentElement.lang = locale;
    document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((node) => {
      const sentence = sentenceOf(dictionaries[locale], node.dataset.i18n as SentenceKey) as string | undefined;
      if (sentence !== undefined) node.textContent = fill(sentence, vars.client ?? '', vars as Record<string, string>);
    });
    buttons.forEach((button) => button.setAttribute('aria-pressed', String(button.dataset.locale === locale)));
    // A year; Lax and path=/ so every page of this origin reads it. Not secret, not httpOnly.
    document.cookie = `${localeCookie}=${locale}; path=/; max-age=31536000; samesite=lax${location.protocol === 'https:' ? '; secure' : ''}`;
    onChange(locale);
  };
  buttons.forEach((button) => button.addEventListener('click', () => {
    if (isLocale(button.dataset.locale)) apply(button.dataset.locale);
  }));
  return () => current;
}
