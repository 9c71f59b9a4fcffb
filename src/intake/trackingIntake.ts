/**
 * Every intake route answers with the new case's tracking code. Applied to the route table
 * (not inside each route) so a case type added later gets codes by being listed here.
 */
import type { Pool } from 'pg';
import { issueTrackingCode, type TrackingCodeWriter } from '../db/trackingCodes';
import { unavailable } from '../api/problem';
import { newTrackingCode } from './trackingCode';
import type { ApiRoutes, IntakeMemo, RouteSpec } from '../api/routing';
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

/** The workflow memo field holding the case's tracking code (set at intake). */
export const TRACKING_CODE_MEMO = 'trackingCode';

export function withTrackingCodes(routes: ApiRoutes, pool: Pool, writer: TrackingCodeWriter): void {
  for (const spec of routes.routes) {
    const caseType = INTAKE_ROUTES[spec.path];
    if (spec.method !== 'post' || !caseType) continue;
    const handler = spec.handler;
    untracked.set(spec, handler);
    spec.handler = async (ctx) => {
      // A new case's code is chosen here and travels in its workflow memo; it is written to
      // Postgres in groups after the answer (TrackingCodeWriter), not on the request's path.
      let code: string | null = null;
      let repeatCode: string | undefined;
      const intakeMemo: IntakeMemo = {
        add: () => {
          if (writer.failing) throw unavailable('Postgres is unreachable: tracking codes cannot be stored; retry shortly');
          code = newTrackingCode();
          return { [TRACKING_CODE_MEMO]: code };
        },
        found: (memo) => {
          const c = memo?.[TRACKING_CODE_MEMO];
          repeatCode = typeof c === 'string' ? c : undefined;
        },
      };
      const reply = await handler({ ...ctx, intakeMemo });
      const body = reply.body as { id?: unknown } | undefined;
      if (!body || typeof body.id !== 'string') return reply;
      if (reply.status === 201 && code) {
        writer.add({ code, caseId: body.id, caseType });
        reply.body = { ...body, trackingCode: code };
      } else if (reply.status === 201 || reply.status === 200) {
        // A repeat (the case opened before, maybe by another API process whose write is still
        // pending): the code it was given, from the memo startCase found, or the one already stored.
        reply.body = { ...body, trackingCode: await issueTrackingCode(pool, body.id, caseType, repeatCode) };
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

