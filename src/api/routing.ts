/**
 * One declaration per endpoint: who may call it, what it takes, what it answers. The same
 * declaration validates requests, checks roles, feeds the OpenAPI document and the
 * route-by-role test matrix, so none of them can drift from the others.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Express, NextFunction, Request, Response } from 'express';
import type { ZodType } from 'zod';
import { isWellFormedText } from '../domain/text';
import type { Role } from '../domain/vocabulary';
import type { Principal } from './auth';
import { badRequest, forbidden, fromZodError, HttpProblem, problemType } from './problem';
import { z } from './zod';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The tracking code's way through the workflow memo (src/intake/trackingIntake.ts). */
export interface IntakeMemo {
  /** Called with the new case's id just before its workflow is started; the result goes into the memo. */
  add(caseId: string): Record<string, string>;
  /** A repeat: the memo of the case started before. */
  found(memo: Record<string, unknown> | undefined): void;
}

export interface HandlerContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal;
  req: Request;
  res: Response;
  /** Intake routes: what goes into a new case's workflow memo, and what a repeat finds there (startCase). */
  intakeMemo?: IntakeMemo;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Case the request acted on, for the audit log. */
  caseId?: string;
  contentType?: string;
}

export interface RouteSpec<B = unknown, Q = unknown, P = unknown> {
  method: Method;
  /** Express-style path: `/v1/partners/:id`. */
  path: string;
  /** OpenAPI operationId (camelCase, unique): the generated client's method name; the lint checks it. */
  operationId: string;
  summary: string;
  tag: string;
  /** Roles allowed; `public` routes need no key. */
  roles: readonly Role[] | 'public';
  /** It answers with personal data (a case by id, decrypted payloads): every call is audited, reads too. */
  personalData?: boolean;
  /** Another credential this route accepts besides an API key (the codec's browser session); null = none presented. */
  authenticate?: (req: Request) => Promise<Principal | null>;
  body?: ZodType<B>;
  query?: ZodType<Q>;
  params?: ZodType<P>;
  /**
   * `content`: the media types this answer comes in when it is not JSON (a page, a CSS file) or,
   * for an error, not a problem document (Open311 writes its own error array as JSON or XML).
   */
  responses: Record<number, { description: string; schema?: ZodType; content?: readonly string[] }>;
  handler: (ctx: HandlerContext<B, Q, P>) => Promise<Reply>;
}

export const ProblemSchema = z.object({
  type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
}).openapi('Problem');

/** The operationId of a case action route: (`serviceRequest`, `follow-up`) -> `serviceRequestFollowUp`; path parameters dropped. */
export function actionOperationId(resource: string, action: string): string {
  const words = action.split(/[/-]/).filter((w) => w && !w.startsWith(':'));
  return resource + words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

export const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

const STANDARD_ERRORS: Record<number, string> = {
  400: 'invalid input, or a malformed JSON body', 401: 'no or bad API key', 403: 'role or scope forbids it', 404: 'no such resource',
  413: 'the body is over 1 MB', 415: 'the body is not JSON', 429: 'rate limited', 503: 'a dependency is down',
};

export class ApiRoutes {
  readonly routes: RouteSpec<any, any, any>[] = [];

  add<B, Q, P>(spec: RouteSpec<B, Q, P>): void {
    this.routes.push(spec);
  }

  /** Mount every route on the app behind `authenticate`. */
  mount(app: Express, authenticate: (req: Request) => Promise<Principal | null>): void {
    for (const spec of this.routes) {
      app[spec.method](spec.path, async (req: Request, res: Response, next: NextFunction) => {
        try {
          res.locals.route = spec.path;
          if (spec.personalData) res.locals.personalData = true;
          // Known before the handler runs, so a refused read is audited against its case too.
          if (spec.personalData && typeof req.params.id === 'string') res.locals.caseId = req.params.id;
          const principal = spec.roles === 'public' ? null : ((await spec.authenticate?.(req)) ?? await authenticate(req));
          if (principal) res.locals.principal = principal;
          if (spec.roles !== 'public' && !spec.roles.includes(principal!.role)) {
            throw forbidden(`this action needs one of the roles: ${spec.roles.join(', ')}`);
          }
          const params = parseWith(spec.params, req.params, 'path');
          const query = parseWith(spec.query, req.query, 'query');
          const body = parseWith(spec.body, spec.body ? (req.body ?? {}) : undefined, 'body');
          const reply = await spec.handler({ body, query, params, principal: principal!, req, res });
          if (reply.caseId) res.locals.caseId = reply.caseId;
          for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
          res.status(reply.status);
          if (reply.body === undefined) res.end();
          else if (reply.contentType) res.type(reply.contentType).send(reply.body);
          else if (req.method === 'GET' || req.method === 'HEAD') res.json(reply.body);
          else sendJson(res, reply.body);
        } catch (err) {
          next(err);
        }
      });
    }
    // A known path asked with a method it does not have: 405 naming the ones it has (RFC 9110), not 404.
    const methodsByPath = new Map<string, string[]>();
    for (const spec of this.routes) methodsByPath.set(spec.path, [...(methodsByPath.get(spec.path) ?? []), spec.method.toUpperCase()]);
    for (const [path, methods] of methodsByPath) {
      const allow = [...new Set([...methods, ...(methods.includes('GET') ? ['HEAD'] : [])])].join(', ');
      app.all(path, (req: Request, _res: Response, next: NextFunction) => {
        if (req.method === 'OPTIONS') return next();
        next(new HttpProblem(405, 'Method not allowed', `${req.method} is not allowed on ${path}; use ${allow}`, {}, { Allow: allow }));
      });
    }
  }

  /** `extend` registers what is not a route (webhooks). Duplicate operationIds are refused. */
  openApiDocument(info: { title: string; version: string; description: string }, extend?: (registry: OpenAPIRegistry) => void) {
    const registry = new OpenAPIRegistry();
    registry.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer', description: 'API key' });
    const seen = new Map<string, string>();
    for (const spec of this.routes) {
      const where = `${spec.method.toUpperCase()} ${spec.path}`;
      if (seen.has(spec.operationId)) throw new Error(`operationId ${spec.operationId} is used by ${seen.get(spec.operationId)} and ${where}; give each route its own`);
      seen.set(spec.operationId, where);
    }
    extend?.(registry);
    for (const spec of this.routes) {
      const responses: Record<string, { description: string; content?: Record<string, { schema: ZodType }> }> = {};
      const ownMediaTypes = new Set<string>();
      for (const [status, r] of Object.entries(spec.responses)) {
        if (r.content) {
          ownMediaTypes.add(status);
          const schema = r.schema ?? z.string();
          responses[status] = { description: r.description, content: Object.fromEntries(r.content.map((t) => [t, { schema }])) };
          continue;
        }
        // Every error is a problem document, whether or not the route named its shape.
        const schema = r.schema ?? (Number(status) >= 400 ? ProblemSchema : undefined);
        responses[status] = schema ? { description: r.description, content: { 'application/json': { schema } } } : { description: r.description };
      }
      for (const [status, description] of Object.entries(STANDARD_ERRORS)) {
        if (responses[status]) continue;
        // Any route answers 400 to a malformed JSON body (the body parser runs before every route).
        if (spec.roles === 'public' && status !== '503' && status !== '400') continue;
        if (status === '404' && !spec.params) continue;
        if ((status === '413' || status === '415') && !spec.body) continue;
        responses[status] = { description, content: { 'application/problem+json': { schema: ProblemSchema } } };
      }
      for (const [status, r] of Object.entries(responses)) {
        if (Number(status) >= 400 && !ownMediaTypes.has(status) && r.content?.['application/json']) {
          r.content = { 'application/problem+json': r.content['application/json'] };
        }
      }
      // A route that reads its path parameters itself (no schema) still declares them.
      const pathParams = spec.params ?? (/:\w/.test(spec.path)
        ? z.object(Object.fromEntries([...spec.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => [m[1], z.string()]))) : undefined);
      registry.registerPath({
        method: spec.method,
        path: toOpenApiPath(spec.path),
        operationId: spec.operationId,
        summary: spec.summary,
        description: spec.roles === 'public' ? 'No authentication.' : `Roles: ${spec.roles.join(', ')}.`,
        tags: [spec.tag],
        security: spec.roles === 'public' ? [] : [{ apiKey: [] }],
        request: {
          ...(pathParams ? { params: pathParams as never } : {}),
          ...(spec.query ? { query: spec.query as never } : {}),
          ...(spec.body ? { body: { required: !spec.body.safeParse(undefined).success, content: { 'application/json': { schema: spec.body } } } } : {}),
        },
        responses: responses as never,
      });
    }
    return new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info,
      servers: [{ url: '/' }],
    });
  }
}

/**
 * The JSON answer of a write, sent as res.json would send it minus what only a GET can use:
 * no ETag (a SHA-1 of the body) and no freshness check, and a fixed Content-Type instead of
 * one parsed and rebuilt per answer. A few microseconds of CPU per intake (BENCHMARKS.md).
 */
function sendJson(res: Response, body: unknown): void {
  const text = JSON.stringify(body);
  if (text === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function parseWith<T>(schema: ZodType<T> | undefined, value: unknown, where: 'body' | 'query' | 'path'): T {
  if (!schema) return undefined as T;
  const bad = unstorableText(value, [where]);
  if (bad) throw badRequest(`${bad.path} ${bad.problem}`, [{ path: bad.path, message: `must not contain ${bad.problem.replace(/^contains /, '')}` }]);
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(where, result.error);
  return result.data;
}

/**
 * Postgres text and jsonb cannot hold U+0000 nor a lone UTF-16 surrogate (half an emoji):
 * refused at the door, it is a 400; let through, it is a 500, or worse a workflow whose
 * read-model writes can never succeed. Field names are checked as well as values.
 */
function unstorableText(value: unknown, path: string[]): { path: string; problem: string } | null {
  const check = (text: string, at: string[]) => {
    if (text.includes('\u0000')) return { path: at.join('.'), problem: 'contains the NUL character (U+0000)' };
    if (!isWellFormedText(text)) return { path: at.join('.'), problem: 'contains a lone UTF-16 surrogate (not well-formed Unicode)' };
    return null;
  };
  if (typeof value === 'string') return check(value, path);
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const found = check(k, [...path, k]) ?? unstorableText(v, [...path, k]);
    if (found) return found;
  }
  return null;
}

export { problemType };
