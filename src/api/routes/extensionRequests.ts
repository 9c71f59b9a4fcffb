/**
 * `GET /v1/extension-requests`: the resident requests whose partner asked for more time and
 * wait for a supervisor's decision, oldest request first (the console's dashboard). From the
 * read model; community scope applies as for /v1/cases.
 */
import type { ApiDeps } from '../deps';
import type { ApiRoutes } from '../routing';
import { communityScope } from '../scope';
import { z } from '../zod';

const ExtensionRequestView = z.object({
  caseId: z.string(), community: z.string().nullable(), partnerId: z.string().nullable(), category: z.string().nullable(),
  extraTime: z.string(), reason: z.string(), requestedAt: z.string(), fulfilmentDeadline: z.string().nullable(),
}).openapi('ExtensionRequest');

export function extensionRequestRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/extension-requests', operationId: 'listExtensionRequests', tag: 'supervision', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Extension requests waiting for a decision, oldest first',
    query: z.object({ community: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
    responses: { 200: { description: 'pending requests', schema: z.object({ items: z.array(ExtensionRequestView) }) } },
    handler: async ({ query, principal }) => {
      const scope = communityScope(principal, query.community);
      const { rows } = await pool.query(
        `SELECT id, community, partner_id, category, details->'extension' AS extension, deadlines->>'fulfilment' AS fulfilment
           FROM cases
          WHERE type = 'service_request' AND status = 'in_progress' AND details->'extension'->>'decision' = 'pending'
            AND ($1::text IS NULL OR community = $1) AND ($2::text[] IS NULL OR community = ANY ($2))
          ORDER BY details->'extension'->>'requestedAt' LIMIT $3`, [query.community ?? null, scope, query.limit]);
      return {
        status: 200,
        body: {
          items: rows.map((r) => ({
            caseId: r.id, community: r.community, partnerId: r.partner_id, category: r.category, extraTime: r.extension.extraTime,
            reason: r.extension.reason, requestedAt: r.extension.requestedAt, fulfilmentDeadline: r.fulfilment ?? null,
          })),
        },
      };
    },
  });
}
