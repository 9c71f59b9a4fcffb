/** Read views of care plans: one plan's visits, a partner's roster, the care-hours report (all from the read model). */
import { carePlanAccess, careHoursReport, listPartnerVisits, listPlanVisits, type VisitRow } from '../../db/carePlans';
import { decodeCursor, encodeCursor } from '../../db/cursor';
import type { CarePlanState } from '../../domain/carePlan';
import { inCommunityScope, type Principal } from '../auth';
import { forbidden } from '../problem';
import { CareHoursQuery, CareHoursReport, PlanParams, RosterQuery, VisitListQuery, VisitView } from '../carePlanSchemas';
import type { ApiDeps } from '../deps';
import type { ApiRoutes } from '../routing';
import { communityScope, invalidCursor } from '../scope';
import { z } from '../zod';

/** A visit as the API shows it: the six EVV facts (service, resident = the plan, date, place, carer, start and end). */
function visitView(v: VisitRow) {
  return {
    visitId: v.visitId, dueAt: v.dueAt, status: v.status, late: v.late, partnerId: v.partnerId, plannedServices: v.plannedServices,
    checkInAt: v.checkInAt, checkOutAt: v.checkOutAt, carer: v.carer, location: v.location, services: v.services,
    hours: v.hours, note: v.note, cancelReason: v.cancelReason,
  };
}

const DAY = 86_400_000;

export function carePlanReadRoutes(
  routes: ApiRoutes, { pool }: ApiDeps, authorisedState: (caseId: string, p: Principal) => Promise<CarePlanState>,
): void {
  routes.add({
    method: 'get', path: '/v1/care-plans/:id/visits', tag: 'care plans', roles: ['admin', 'supervisor', 'staff', 'partner'], operationId: 'listCareVisits',
    summary: "A plan's visits, newest first, with the facts of electronic visit verification",
    params: PlanParams, query: VisitListQuery,
    responses: { 200: { description: 'a page of visits', schema: z.object({ items: z.array(VisitView), nextCursor: z.string().nullable() }) }, 404: { description: 'unknown plan' } },
    handler: async ({ params, query, principal }) => {
      // From the read model when it knows the plan (one indexed read, no workflow query per page); else as GET does.
      const access = await carePlanAccess(pool, params.id, principal.partnerId);
      if (!access) await authorisedState(params.id, principal);
      else {
        if (principal.role === 'partner' && access.partnerId !== principal.partnerId && !access.servedBy) throw forbidden('this care plan is not served by your organisation');
        if (!inCommunityScope(principal, access.community)) throw forbidden('this care plan is outside the communities of your key');
      }
      const before = decodeCursor(query.cursor, { dueAt: 'instant', visitNo: 'bigint' });
      if (before === 'invalid') throw invalidCursor();
      const { items, cursor } = await listPlanVisits(pool, params.id, { limit: query.limit, before, status: query.status });
      return { status: 200, body: { items: items.map(visitView), nextCursor: cursor ? encodeCursor({ ...cursor }) : null } };
    },
  });

  routes.add({
    method: 'get', path: '/v1/partners/me/visits', tag: 'partners', roles: ['partner'], operationId: 'listMyCareVisits', personalData: true,
    summary: "The calling partner's care visits due in [from, to), soonest first (the resident's contact details while a visit is open)",
    query: RosterQuery,
    responses: { 200: { description: 'the roster', schema: z.object({ items: z.array(VisitView.extend({ planId: z.string(), resident: z.unknown(), planStatus: z.string().nullable() })), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const after = decodeCursor(query.cursor, { dueAt: 'instant', caseId: 'text', visitNo: 'bigint' });
      if (after === 'invalid') throw invalidCursor();
      const from = query.from ?? new Date(Date.now() - 7 * DAY).toISOString();
      const to = query.to ?? new Date(Date.now() + 30 * DAY).toISOString();
      const { items, cursor } = await listPartnerVisits(pool, principal.partnerId!, { from, to, limit: query.limit, after });
      return {
        status: 200,
        body: {
          items: items.map((v) => {
            const open = v.status === 'scheduled' || v.status === 'in_progress';
            const r = (v.resident ?? {}) as Record<string, unknown>;
            return {
              ...visitView(v), planId: v.caseId, planStatus: v.planStatus,
              resident: open ? r : { community: r.community, compound: r.compound, grid: r.grid },
            };
          }),
          nextCursor: cursor ? encodeCursor({ ...cursor }) : null,
        },
      };
    },
  });

  routes.add({
    method: 'get', path: '/v1/reports/care-hours', tag: 'supervision', roles: ['admin', 'supervisor'], operationId: 'careHoursReport',
    summary: 'Care hours, visits completed and missed, on-time share per partner, community or plan, over visits due in [from, to)',
    query: CareHoursQuery,
    responses: { 200: { description: 'the report', schema: CareHoursReport } },
    handler: async ({ query, principal }) => {
      const scope = communityScope(principal, query.community);
      const report = await careHoursReport(pool, { ...query, scope });
      return { status: 200, body: { groupBy: query.groupBy, from: query.from ?? null, to: query.to ?? null, ...report } };
    },
  });
}
