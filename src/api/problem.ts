/** RFC 9457 problem details: every failure the API answers with. */
import type { ErrorRequestHandler, Response } from 'express';
import type { ZodError } from 'zod';
import { isConnectionError } from '../db/pool';
import { hasMessage, negotiateLocale, translate } from '../i18n';

export interface FieldError { path: string; message: string }

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const TYPES: Record<number, string> = {
  400: 'validation-error', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found', 405: 'method-not-allowed', 409: 'conflict',
  413: 'payload-too-large', 415: 'unsupported-media-type', 429: 'rate-limited', 500: 'internal-error', 503: 'dependency-unavailable',
};

export const problemType = (status: number) => `https://gongjian.dev/problems/${TYPES[status] ?? 'error'}`;

export function sendProblem(res: Response, p: HttpProblem): void {
  for (const [k, v] of Object.entries(p.headers)) res.setHeader(k, v);
  // The title in the caller's language (Accept-Language; English unless it prefers Chinese).
  const locale = negotiateLocale(res.req?.headers['accept-language'], 'en');
  const title = locale !== 'en' && hasMessage(`problem.${p.title}`) ? translate(locale, `problem.${p.title}`) : p.title;
  res.setHeader('Content-Language', locale);
  res.vary('Accept-Language');
  res.status(p.status).type('application/problem+json').send(JSON.stringify({
    type: problemType(p.status), title, status: p.status, detail: p.detail, ...p.extra,
  }));
}

export const badRequest = (detail: string, errors: FieldError[] = []) =>
  new HttpProblem(400, 'Invalid request', detail, errors.length ? { errors } : {});
export const notFound = (what: string) => new HttpProblem(404, 'Not found', `${what} does not exist`);
export const forbidden = (detail: string) => new HttpProblem(403, 'Forbidden', detail);
export const conflict = (detail: string, extra: Record<string, unknown> = {}) => new HttpProblem(409, 'Conflict', detail, extra);
export const unavailable = (detail: string, retryAfterSeconds = 5) =>
  new HttpProblem(503, 'Service unavailable', detail, {}, { 'Retry-After': String(retryAfterSeconds) });

export function fromZodError(where: 'body' | 'query' | 'path', err: ZodError): HttpProblem {
  const errors = err.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${(i as { keys?: string[] }).keys?.join(', ')}` : i.message,
  }));
  return badRequest(`${errors.length} invalid field(s): ${errors.map((e) => e.path).join(', ')}`, errors);
}

/** Whether an error means Temporal is unreachable or not answering in time. */
export function isTemporalUnavailable(err: unknown): boolean {
  const e = err as { code?: number; name?: string; message?: string } | null;
  if (!e) return false;
  // gRPC: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
  if (e.name === 'ServiceError' || e.name === 'TransportError') return true;
  if (e.code === 14 || e.code === 4) return true;
  return /UNAVAILABLE|DEADLINE_EXCEEDED|Failed to connect|deadline exceeded/i.test(e.message ?? '');
}

export function problemMiddleware(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof HttpProblem) return sendProblem(res, err);
    const e = err as { type?: string; status?: number; statusCode?: number; message?: string };
    // body-parser's own failures are client errors
    if (e.type === 'entity.too.large') return sendProblem(res, new HttpProblem(413, 'Payload too large', 'the request body exceeds the 1 MB limit'));
    if (e.type === 'entity.parse.failed') return sendProblem(res, badRequest('the request body is not valid JSON', [{ path: 'body', message: 'malformed JSON' }]));
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return sendProblem(res, new HttpProblem(415, 'Unsupported media type', e.message ?? 'unsupported encoding'));
    const status = e.status ?? e.statusCode;
    if (status && status >= 400 && status < 500) return sendProblem(res, new HttpProblem(status, 'Bad request', e.message ?? 'bad request'));
    if (isConnectionError(err)) return sendProblem(res, unavailable('the database is unreachable; retry shortly'));
    if (isTemporalUnavailable(err)) return sendProblem(res, unavailable('the Temporal service is unreachable; retry shortly'));
    log.error({ err: { message: e.message, name: (err as Error)?.name } }, 'unhandled error');
    sendProblem(res, new HttpProblem(500, 'Internal error', 'an unexpected error occurred'));
  };
}
