/** Calls to the API with the session cookie (+ CSRF token on changes), problems as readable errors. */
import { currentLocale, t } from './i18n';

export interface Problem { status: number; title: string; detail: string; errors?: { path: string; message: string }[]; state?: string }

export class ApiError extends Error {
  constructor(readonly problem: Problem) { super(problem.detail); }
}

let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null) => { csrfToken = token; };

/** Called when a request answers 401 (the session ended): the app shows the login page. */
let onSessionEnded: () => void = () => undefined;
export const whenSessionEnds = (fn: () => void) => { onSessionEnded = fn; };

export async function api<T = any>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean; token?: false } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'accept-language': currentLocale() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken && opts.token !== false) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError({ status: 0, title: t('error.network'), detail: t('error.network') });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: any = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!res.ok) {
    const problem: Problem = parsed && typeof parsed === 'object' && 'status' in parsed
      ? parsed : { status: res.status, title: res.statusText, detail: res.statusText };
    if (res.status === 401 && !opts.quiet401) onSessionEnded();
    throw new ApiError(problem);
  }
  return parsed as T;
}

/** What to tell a person about a failed request: never a stack trace, always the reason. */
export function describeError(err: unknown): { message: string; fields: { path: string; message: string }[] } {
  if (!(err instanceof ApiError)) return { message: t('error.generic', { detail: (err as Error)?.message ?? '' }), fields: [] };
  const p = err.problem;
  if (p.status === 401) return { message: t('session.ended'), fields: [] };
  if (p.status === 403 && /CSRF/i.test(p.detail)) return { message: t('error.csrf'), fields: [] };
  if (p.status === 403) return { message: `${t('error.forbidden')} (${p.detail})`, fields: [] };
  if (p.status === 404) return { message: t('error.notFound'), fields: [] };
  if (p.status === 409) return { message: t('error.state', { state: p.state ? t(`status.${p.state}`) : p.detail }), fields: [] };
  if (p.status === 400 && p.errors?.length) return { message: t('error.fields'), fields: p.errors };
  return { message: t('error.generic', { detail: `${p.title}: ${p.detail}` }), fields: [] };
}
