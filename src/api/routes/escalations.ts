/** GET /v1/escalations: the escalation chain's work list (逐级督办), highest level and oldest first. */
import { decodeCursor, encodeCursor } from '../../db/cursor';
import { listEscalations } from '../../db/escalations';
import { ESCALATION_REASONS, ESCALATION_STATUSES } from '../../domain/escalation';
import { CASE_TYPES } from '../../domain/vocabulary';
import type { ApiDeps } from '../deps';
import type { ApiRoutes } from '../routing';
import { badRequest } from '../problem';
import { communityScope, invalidCursor } from '../scope';
import { Pagination } from '../schemas';
import { z } from '../zod';

const EscalationQuery = z.object({
  // `mine`: the caller's own escalation level (of its API key or user account)
  level: z.union([z.literal('mine'), z.coerce.number().int().min(1).max(3)]).optional(),
  community: z.string().max(200).optional(),
  caseType: z.enum(CASE_TYPES).optional(),
  status: z.enum(ESCALATION_STATUSES).optional(),
  ...Pagination,
}).strict();

const EscalationView = z.object({
  caseId: z.string(), caseType: z.enum(CASE_TYPES), number: z.number().int(), community: z.string().nullable(),
  reason: z.enum(ESCALATION_REASONS), level: z.number().int(), status: z.enum(ESCALATION_STATUSES), since: z.string(),
  levelSince: z.string(), nextLevelAt: z.string().nullable(), acknowledgedBy: z.string().nullable(),
  acknowledgedAt: z.string().nullable(), resolvedAt: z.string().nullable(),
}).openapi('Escalation');

export function escalationRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/escalations', operationId: 'listEscalations', tag: 'escalations', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Escalations of both case types, highest level and oldest first (community scope applies)',
    query: EscalationQuery,
    responses: { 200: { description: 'a page of escalations', schema: z.object({ items: z.array(EscalationView), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const scope = communityScope(principal, query.community);
      let level = query.level;
      if (level === 'mine') {
        if (principal.escalationLevel == null) throw badRequest('no escalation level', [{ path: 'query.level', message: 'level=mine needs a key or user with an escalationLevel; this one has none' }]);
        level = principal.escalationLevel;
      }
      const raw = decodeCursor(query.cursor, { level: 'bigint', since: 'instant', caseId: 'text', number: 'bigint' });
      if (raw === 'invalid') throw invalidCursor();
      const after = raw ? { level: Number(raw.level), since: raw.since, caseId: raw.caseId, number: Number(raw.number) } : null;
      const { items, cursor } = await listEscalations(pool, { ...query, level, scope, after });
      const next = cursor ? encodeCursor({ level: String(cursor.level), since: cursor.since, caseId: cursor.caseId, number: String(cursor.number) }) : null;
      return { status: 200, body: { items, nextCursor: next } };
    },
  });
}
