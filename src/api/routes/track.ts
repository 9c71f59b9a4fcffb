/**
 * Public tracking (网上查询): GET /v1/track/{code} for programs, /track and /track/{code} for
 * residents' phones. No key; a stricter per-address limit than the API's own, so codes cannot
 * be guessed at speed. An unknown code and one that cannot be a code answer alike (404).
 */
import type { Request } from 'express';
import { trackedCase } from '../../db/trackingCodes';
import { normaliseTrackingCode } from '../../intake/trackingCode';
import { trackingView } from '../../intake/trackingView';
import { casePage, formPage, TRACK_CSP, TRACK_CSS } from '../../intake/trackPages';
import { pickLang } from '../../intake/trackMessages';
import type { ApiDeps } from '../deps';
import { HttpProblem, notFound } from '../problem';
import { TokenBuckets } from '../rateLimit';
import type { ApiRoutes } from '../routing';
import { z } from '../zod';

const TrackingAnswer = z.object({
  caseType: z.string(), caseTypeLabel: z.string(), status: z.string(), statusLabel: z.string(),
  steps: z.array(z.object({ key: z.string(), label: z.string(), at: z.string() })),
  expectedBy: z.string().optional(), partnerName: z.string().optional(),
}).openapi('TrackingAnswer');

const LangQuery = z.object({ lang: z.string().optional().openapi({ description: 'zh-CN or en; else Accept-Language' }) });
const HTML_HEADERS = { 'Content-Security-Policy': TRACK_CSP, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' };

export function trackRoutes(routes: ApiRoutes, { pool, config }: ApiDeps): void {
  const buckets = config.TRACK_RATE_LIMIT_PER_MINUTE > 0 ? new TokenBuckets(config.TRACK_RATE_LIMIT_PER_MINUTE) : null;
  const limit = (req: Request) => {
    const wait = buckets?.take(req.ip ?? 'unknown') ?? 0;
    if (wait > 0) {
      throw new HttpProblem(429, 'Too many requests', `more than ${config.TRACK_RATE_LIMIT_PER_MINUTE} look-ups per minute from this address; retry in ${wait} s`, {}, { 'Retry-After': String(wait) });
    }
  };
  /** The case behind what was typed; null for an unknown code and for text that cannot be one. */
  const lookUp = async (typed: unknown) => {
    const code = normaliseTrackingCode(typed);
    const found = code ? await trackedCase(pool, code) : null;
    return found && code ? { code, found } : null;
  };
  const langOf = (req: Request) => pickLang(req.query.lang, req.header('accept-language'));
  const baseUrl = (req: Request) => config.PUBLIC_BASE_URL?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;

  // The code is read from the raw path on purpose (no schema): a malformed code must get the same 404 as an unknown one.
  routes.add({
    method: 'get', path: '/v1/track/:code', operationId: 'trackCase', tag: 'tracking', roles: 'public',
    summary: 'A case by its tracking code: status, steps, expected date, the serving organisation; never personal data',
    query: LangQuery,
    responses: { 200: { description: 'the case', schema: TrackingAnswer }, 404: { description: 'no case has this code' }, 429: { description: 'too many look-ups from this address' } },
    handler: async ({ req }) => {
      limit(req);
      const hit = await lookUp(req.params.code);
      if (!hit) throw notFound('a case with this tracking code');
      return { status: 200, body: trackingView(hit.found, langOf(req)), headers: { 'Cache-Control': 'no-store', 'Content-Language': langOf(req) } };
    },
  });

  const HTML = ['text/html'] as const;

  routes.add({
    method: 'get', path: '/track', operationId: 'trackForm', tag: 'tracking', roles: 'public',
    summary: 'The page to type a tracking code (HTML); ?code= goes to that case',
    query: z.object({ code: z.string().optional(), lang: z.string().optional() }),
    responses: { 200: { description: 'HTML form', content: HTML }, 303: { description: 'to /track/{code}' }, 404: { description: 'HTML form: no case has this code', content: HTML } },
    handler: async ({ req }) => {
      const lang = langOf(req);
      const typed = req.query.code;
      if (typeof typed === 'string' && typed.trim()) {
        const code = normaliseTrackingCode(typed);
        if (code) return { status: 303, headers: { Location: `/track/${code}?lang=${lang}` } };
        return { status: 404, body: formPage(lang, { notFound: true }), contentType: 'text/html; charset=utf-8', headers: HTML_HEADERS };
      }
      return { status: 200, body: formPage(lang), contentType: 'text/html; charset=utf-8', headers: HTML_HEADERS };
    },
  });

  routes.add({
    method: 'get', path: '/track/:code', operationId: 'trackPage', tag: 'tracking', roles: 'public',
    summary: 'A case by its tracking code as a phone-sized page with a printable receipt and QR code (HTML)',
    query: LangQuery,
    responses: { 200: { description: 'HTML page', content: HTML }, 404: { description: 'HTML page: no case has this code', content: HTML }, 429: { description: 'HTML page: too many look-ups', content: HTML } },
    handler: async ({ req }) => {
      const lang = langOf(req);
      const html = { contentType: 'text/html; charset=utf-8', headers: HTML_HEADERS };
      const wait = buckets?.take(req.ip ?? 'unknown') ?? 0;
      if (wait > 0) return { status: 429, body: formPage(lang, { status: 'tooMany' }), ...html, headers: { ...HTML_HEADERS, 'Retry-After': String(wait) } };
      const hit = await lookUp(req.params.code);
      if (!hit) return { status: 404, body: formPage(lang, { notFound: true }), ...html };
      const page = await casePage(lang, hit.code, trackingView(hit.found, lang), `${baseUrl(req)}/track/${hit.code}`);
      return { status: 200, body: page, ...html };
    },
  });

  routes.add({
    method: 'get', path: '/track/assets/track.css', operationId: 'trackStylesheet', tag: 'tracking', roles: 'public',
    summary: 'The stylesheet of the tracking pages',
    responses: { 200: { description: 'CSS', content: ['text/css'] } },
    handler: async () => ({ status: 200, body: TRACK_CSS, contentType: 'text/css; charset=utf-8', headers: { 'Cache-Control': 'public, max-age=3600' } }),
  });
}
