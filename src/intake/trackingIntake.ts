/**
 * Every intake route answers with the new case's tracking code. Applied to the route table
 * (not inside each route) so a case type added later gets codes by being listed here.
 */
import type { Pool } from 'pg';
import { issueTrackingCode } from '../db/trackingCodes';
import type { ApiRoutes, RouteSpec } from '../api/routing';
import { z } from '../api/zod';

/** Intake route -> the case type of what it opens. */
export const INTAKE_ROUTES: Record<string, string> = {
  '/v1/service-requests': 'service_request',
  '/v1/registrations': 'registration',
  '/v1/care-plans': 'care_plan',
};

/** Each wrapped intake route's own handler, which opens the case without issuing its code. */
const untracked = new WeakMap<RouteSpec<any, any, any>, RouteSpec<any, any, any>['handler']>();

/**
 * The intake handler of `spec` without the tracking code, for a caller that issues the codes of
 * many cases in one statement afterwards (the needs-list import, src/intake/importRunner.ts).
 */
export function handlerWithoutTrackingCode(spec: RouteSpec<any, any, any>): RouteSpec<any, any, any>['handler'] {
  return untracked.get(spec) ?? spec.handler;
}

export function withTrackingCodes(routes: ApiRoutes, pool: Pool): void {
  for (const spec of routes.routes) {
    const caseType = INTAKE_ROUTES[spec.path];
    if (spec.method !== 'post' || !caseType) continue;
    const handler = spec.handler;
    untracked.set(spec, handler);
    spec.handler = async (ctx) => {
      // The code is issued while the workflow starts (one Postgres round trip alongside the gRPC
      // call, not after it), and the answer waits for both: a code handed out is committed. A
      // start that fails leaves its code unused; nobody was given it (the answer is an error).
      let issued: Promise<string> | undefined;
      const beforeStart = (caseId: string) => {
        issued = issueTrackingCode(pool, caseId, caseType);
        issued.catch(() => { /* awaited below when the case opened; otherwise nobody waits for it */ });
      };
      const reply = await handler({ ...ctx, beforeStart });
      const body = reply.body as { id?: unknown } | undefined;
      if ((reply.status === 201 || reply.status === 200) && body && typeof body.id === 'string') {
        reply.body = { ...body, trackingCode: await (issued ?? issueTrackingCode(pool, body.id, caseType)) };
      }
      return reply;
    };
    for (const status of [200, 201]) {
      const r = spec.responses[status];
      if (r?.schema instanceof z.ZodObject) {
        r.schema = r.schema.extend({ trackingCode: z.string().openapi({ description: 'For the resident: GET /v1/track/{code}, the page /track/{code}' }) });
      }
    }
  }
}
