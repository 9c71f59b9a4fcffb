/** Supervisor views of docs/api.md over both case types: the filtered case list and one case's timeline. */
import { caseCommunity, caseTimeline, listCases } from '../../db/caseViews';
import { decodeCursor, encodeCursor } from '../../db/cursor';
import { CASE_CATEGORIES, CASE_STATUSES } from '../../domain/supervision';
import { CASE_TYPES } from '../../domain/vocabulary';
import { exportCases, exportFormat } from '../../intake/caseExport';
import { inCommunityScope } from '../auth';
import type { ApiDeps } from '../deps';
import { forbidden, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { communityScope, invalidCursor } from '../scope';
import { CaseHistory, IdParam, Instant, Pagination } from '../schemas';
import { z } from '../zod';

const CaseSummary = z.object({
  id: z.string(), type: z.enum(CASE_TYPES), status: z.string(), category: z.string().nullable(), urgency: z.string().nullable(),
  community: z.string().nullable(), partnerId: z.string().nullable(), overdue: z.boolean(), reopenCount: z.number().int(),
  dispatchAttempts: z.number().int(), deadlines: z.record(z.string(), z.string()), createdAt: z.string(),
  acknowledgedAt: z.string().nullable(), completedAt: z.string().nullable(), closedAt: z.string().nullable(),
  outcome: z.string().nullable(), satisfaction: z.number().nullable(),
}).openapi('CaseSummary');

const instant = Instant;

const CaseQuery = z.object({
  type: z.enum(CASE_TYPES).optional(),
  status: z.enum(CASE_STATUSES).optional(),
  category: z.enum(CASE_CATEGORIES).optional().openapi({ description: 'Service area of a request, or business type of a registration' }),
  partnerId: z.string().max(100).optional(),
  community: z.string().max(200).optional(),
  overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  from: instant.optional().openapi({ description: 'Created at or after (inclusive)' }),
  to: instant.optional().openapi({ description: 'Created before (exclusive)' }),
  ...Pagination,
}).strict().refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { path: ['to'], message: 'must not be before from' });

export function caseRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/cases', operationId: 'listCases', tag: 'supervision', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Cases of both types, newest first, filtered; scoped keys see their communities only',
    query: CaseQuery,
    responses: { 200: { description: 'a page of cases', schema: z.object({ items: z.array(CaseSummary), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal, req }) => {
      const scope = communityScope(principal, query.community);
      const format = exportFormat(req); // Accept: text/csv or .xlsx: every matching case as a file (docs/intake.md)
      if (format) return exportCases(pool, { ...query, scope }, format);
      const after = decodeCursor(query.cursor, { createdAt: 'instant', id: 'text' });
      if (after === 'invalid' || (after && Number.isNaN(Date.parse(after.createdAt)))) throw invalidCursor();
      const { items, cursor } = await listCases(pool, { ...query, scope, after });
      return { status: 200, body: { items, nextCursor: cursor ? encodeCursor(cursor) : null } };
    },
  });

  routes.add({
    method: 'get', path: '/v1/cases/:id/history', operationId: 'getCaseHistory', tag: 'supervision', roles: ['admin', 'supervisor', 'staff'], personalData: true,
    summary: 'The business timeline of a case, oldest first; notification events carry each delivery attempt (attemptLog)',
    params: IdParam,
    responses: { 200: { description: 'the timeline', schema: CaseHistory }, 404: { description: 'unknown case' } },
    handler: async ({ params, principal }) => {
      const found = await caseCommunity(pool, params.id);
      if (!found) throw notFound(`case ${params.id}`);
      if (!inCommunityScope(principal, found.community)) throw forbidden('this case is outside the communities of your key');
      return { status: 200, body: await caseTimeline(pool, params.id) };
    },
  });
}
