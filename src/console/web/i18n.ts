/**
 * The page's language: `?lang=` (then remembered), else the remembered choice, else what the
 * server chose from Accept-Language (<html lang>). zh-CN by default.
 */
import { parseLocale, translate, type Locale, type MessageKey } from '../../i18n';

const STORAGE_KEY = 'gj_lang';

function initialLocale(): Locale {
  const fromQuery = parseLocale(new URLSearchParams(location.search).get('lang'));
  if (fromQuery) {
    try { localStorage.setItem(STORAGE_KEY, fromQuery); } catch { /* private mode */ }
    return fromQuery;
  }
  let remembered: string | null = null;
  try { remembered = localStorage.getItem(STORAGE_KEY); } catch { /* private mode */ }
  return parseLocale(remembered) ?? parseLocale(document.documentElement.lang) ?? 'zh-CN';
}

let locale: Locale = initialLocale();
document.documentElement.lang = locale;

export const currentLocale = (): Locale => locale;
export const t = (key: MessageKey | string, vars?: Record<string, string | number | null | undefined>): string => translate(locale, key, vars);

/** Switch language, remember it, and let the page render itself again. */
export function switchLocale(render: () => void): void {
  locale = locale === 'zh-CN' ? 'en' : 'zh-CN';
  try { localStorage.setItem(STORAGE_KEY, locale); } catch { /* private mode */ }
  document.documentElement.lang = locale;
  const url = new URL(location.href);
  if (url.searchParams.has('lang')) {
    url.searchParams.set('lang', locale === 'en' ? 'en' : 'zh-CN');
    history.replaceState(null, '', url);
  }
  render();
}
