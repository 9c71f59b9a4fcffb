import { decodeCursor, encodeCursor } from '../../db/cursor';
import { CASE_TYPES, CATEGORIES } from '../../domain/vocabulary';
import { inCommunityScope } from '../auth';
import type { ApiDeps } from '../deps';
import { badRequest, forbidden, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { CaseHistory, IdParam, Pagination } from '../schemas';
import { z } from '../zod';

const CaseSummary = z.object({
  id: z.string(), type: z.enum(CASE_TYPES), status: z.string(), category: z.string().nullable(), urgency: z.string().nullable(),
  community: z.string().nullable(), partnerId: z.string().nullable(), overdue: z.boolean(), reopenCount: z.number().int(),
  dispatchAttempts: z.number().int(), deadlines: z.record(z.string(), z.string()), createdAt: z.string(),
  acknowledgedAt: z.string().nullable(), completedAt: z.string().nullable(), closedAt: z.string().nullable(),
  outcome: z.string().nullable(), satisfaction: z.number().nullable(),
}).openapi('CaseSummary');

const CaseQuery = z.object({
  type: z.enum(CASE_TYPES).optional(),
  status: z.string().max(50).optional(),
  category: z.enum(CATEGORIES).optional(),
  partnerId: z.string().max(100).optional(),
  community: z.string().max(200).optional(),
  overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  ...Pagination,
}).strict();

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function caseRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/cases', tag: 'supervision', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Cases of both types, newest first, filtered',
    query: CaseQuery,
    responses: { 200: { description: 'a page of cases', schema: z.object({ items: z.array(CaseSummary), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const where: string[] = [];
      const values: unknown[] = [];
      const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replaceAll('?', `$${values.length}`)); };
      if (query.type) add('type = ?', query.type);
      if (query.status) add('status = ?', query.status);
      if (query.category) add('category = ?', query.category);
      if (query.partnerId) add('partner_id = ?', query.partnerId);
      if (query.community) add('community = ?', query.community);
      if (query.overdue !== undefined) add('overdue = ?', query.overdue);
      if (query.from) add('created_at >= ?::timestamptz', query.from);
      if (query.to) add('created_at < ?::timestamptz', query.to);
      if (principal.communities) add('community = ANY (?::text[])', principal.communities);
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      if (after === 'invalid') throw badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
      if (after) {
        values.push(after.createdAt, after.id);
        where.push(`(created_at, id) < ($${values.length - 1}::timestamptz, $${values.length})`);
      }
      values.push(query.limit + 1);
      const { rows } = await pool.query(
        `SELECT * FROM cases ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, id DESC LIMIT $${values.length}`, values);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        status: 200,
        body: {
          items: page.map((r) => ({
            id: r.id, type: r.type, status: r.status, category: r.category, urgency: r.urgency, community: r.community,
            partnerId: r.partner_id, overdue: r.overdue, reopenCount: r.reopen_count, dispatchAttempts: r.dispatch_attempts,
            deadlines: r.deadlines, createdAt: r.created_at.toISOString(), acknowledgedAt: iso(r.acknowledged_at),
            completedAt: iso(r.completed_at), closedAt: iso(r.closed_at), outcome: r.outcome, satisfaction: r.satisfaction,
          })),
          nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  routes.add({
    method: 'get', path: '/v1/cases/:id/history', tag: 'supervision', roles: ['admin', 'supervisor', 'staff'],
    summary: 'The business timeline of a case, oldest first; webhook events carry each delivery attempt',
    params: IdParam,
    responses: { 200: { description: 'the timeline', schema: CaseHistory }, 404: { description: 'unknown case' } },
    handler: async ({ params, principal }) => {
      const { rows: cases } = await pool.query<{ community: string | null }>('SELECT community FROM cases WHERE id = $1', [params.id]);
      if (!cases[0]) throw notFound(`case ${params.id}`);
      if (!inCommunityScope(principal, cases[0].community)) throw forbidden('this case is outside the communities of your key');
      const { rows } = await pool.query(
        `SELECT e.seq, e.at, e.type, e.actor,
           CASE WHEN e.data ? 'deliveryId' THEN e.data || jsonb_build_object('attemptLog', coalesce((
             SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, 'httpStatus', a.http_status, 'error', a.error) ORDER BY a.attempt)
             FROM webhook_attempts a WHERE a.delivery_id = e.data->>'deliveryId'), '[]'::jsonb))
           ELSE e.data END AS data
         FROM case_events e WHERE e.case_id = $1 ORDER BY e.seq`, [params.id]);
      return { status: 200, body: rows.map((r) => ({ seq: r.seq, at: r.at.toISOString(), type: r.type, actor: r.actor, data: r.data })) };
    },
  });
}
