/**
 * One message catalogue (zh-CN first, English), used by the console's pages, the API's problem
 * titles and the summary CSV's headers. Plain data and functions: it runs in Node and in the browser.
 */
import { en } from './en';
import { zhCN } from './zh-CN';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export type MessageKey = keyof typeof zhCN;

const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };

/** The message, with `{name}` placeholders filled; an unknown key falls back to the key itself (never throws). */
export function translate(locale: Locale, key: string, vars: Record<string, string | number | null | undefined> = {}): string {
  const text = (CATALOGUES[locale] as Record<string, string>)[key] ?? (CATALOGUES['zh-CN'] as Record<string, string>)[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (vars[name] === undefined || vars[name] === null ? '' : String(vars[name])));
}

export const hasMessage = (key: string): boolean => key in zhCN;

/** A normalised locale from a `lang` parameter (`en`, `zh`, `zh-CN`...), or null. */
export function parseLocale(value: string | null | undefined): Locale | null {
  const v = (value ?? '').trim().toLowerCase();
  if (v.startsWith('en')) return 'en';
  if (v.startsWith('zh')) return 'zh-CN';
  return null;
}

/**
 * The best locale for an Accept-Language header (RFC 9110 weights); `fallback` when it names
 * neither Chinese nor English.
 */
export function negotiateLocale(header: string | undefined, fallback: Locale = 'zh-CN'): Locale {
  const ranges = (header ?? '').split(',').map((part, i) => {
    const [tag, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    return { tag, q: q ? Number(q[1]) : 1, i };
  }).filter((r) => r.tag && r.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    const locale = parseLocale(r.tag);
    if (locale) return locale;
  }
  return fallback;
}
