import { decodeCursor, encodeCursor } from '../../db/cursor';
import { listPartnerOrders, ORDER_STATUSES } from '../../db/partnerOrders';
import type { ApiDeps } from '../deps';
import { badRequest } from '../problem';
import type { ApiRoutes } from '../routing';
import { Pagination } from '../schemas';
import { z } from '../zod';

const PartnerOrderView = z.object({
  orderId: z.string(), caseId: z.string(), caseType: z.string(),
  status: z.enum(ORDER_STATUSES as [string, ...string[]]), offeredAt: z.string(), updatedAt: z.string(),
  category: z.string().nullable(), urgency: z.string().nullable(), community: z.string().nullable(), caseStatus: z.string(),
}).openapi('PartnerOrder');

export function partnerOrderRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/partners/me/orders', operationId: 'listMyOrders', tag: 'partners', roles: ['partner'],
    summary: "The calling partner's orders, open and past, newest first (resident details: GET the case while the order is active)",
    query: z.object({ status: z.enum(ORDER_STATUSES as [string, ...string[]]).optional(), ...Pagination }).strict(),
    responses: { 200: { description: 'orders', schema: z.object({ items: z.array(PartnerOrderView), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const before = decodeCursor(query.cursor, { offeredAt: 'instant', orderId: 'text' });
      if (before === 'invalid') throw badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
      const rows = await listPartnerOrders(pool, principal.partnerId!, { status: query.status, limit: query.limit, before: before ?? undefined });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        status: 200,
        body: { items: page, nextCursor: rows.length > query.limit && last ? encodeCursor({ offeredAt: last.offeredAt, orderId: last.orderId }) : null },
      };
    },
  });
}
