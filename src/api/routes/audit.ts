import { decodeCursor, encodeCursor } from '../../db/cursor';
import type { ApiDeps } from '../deps';
import { badRequest } from '../problem';
import type { ApiRoutes } from '../routing';
import { Pagination } from '../schemas';
import { z } from '../zod';

const AuditEntry = z.object({
  at: z.string(), keyId: z.string().nullable(), role: z.string().nullable(), method: z.string(), path: z.string(),
  caseId: z.string().nullable(), status: z.number().int(),
  kind: z.enum(['write', 'read', 'refused']).openapi({ description: 'a state-changing request, a read of personal data, or a request refused before any route (413, 415, 429, malformed JSON)' }),
  clientAborted: z.boolean().openapi({ description: 'the client went away before the answer (the request had been handled)' }),
}).openapi('AuditEntry');

export function auditRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/audit', operationId: 'listAuditEntries', tag: 'auth', roles: ['admin', 'supervisor'],
    summary: 'Every state-changing request, read of personal data and refused request, newest first (a key limited to communities sees requests on their cases only)',
    query: z.object({ ...Pagination, caseId: z.string().max(100).optional(), keyId: z.string().max(100).optional() }).strict(),
    responses: { 200: { description: 'audit entries', schema: z.object({ items: z.array(AuditEntry), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const after = decodeCursor(query.cursor, { id: 'bigint' });
      if (after === 'invalid') throw badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
      const { rows } = await pool.query(
        `SELECT id, at, key_id, role, method, path, case_id, status, kind, client_aborted FROM audit_log
         WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR case_id = $2) AND ($3::text IS NULL OR key_id = $3)
           -- a key limited to communities sees only requests on cases there
           AND ($5::text[] IS NULL OR case_id IN (SELECT id FROM cases WHERE community = ANY ($5::text[])))
         ORDER BY id DESC LIMIT $4`, [after?.id ?? null, query.caseId ?? null, query.keyId ?? null, query.limit + 1, principal.communities]);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        status: 200,
        body: {
          items: page.map((r) => ({ at: r.at.toISOString(), keyId: r.key_id, role: r.role, method: r.method, path: r.path, caseId: r.case_id, status: r.status, kind: r.kind, clientAborted: r.client_aborted })),
          nextCursor: rows.length > query.limit && last ? encodeCursor({ id: String(last.id) }) : null,
        },
      };
    },
  });
}
