/**
 * Order links: `GET /v1/order-links/{token}` shows the order to the partner it was sent to,
 * `POST /v1/order-links/{token}/{action}` acts on it with the body of the matching partner
 * action. The token is the credential (routes are public), bound to one order and partner; a
 * token that is unknown, expired, or whose order has moved on or ended is a 404 (never a hint
 * of which). Tokens never reach a log: the request log writes route patterns and the audit
 * log a redacted path (see redactPath).
 */
import { findOrderLink } from '../../db/orderLinks';
import type { ApiDeps } from '../deps';
import { linkPrincipal, ORDER_LINK_ACTIONS, ORDER_LINK_KIND_SPECS } from '../orderLinkKinds';
import { badRequest, fromZodError, HttpProblem } from '../problem';
import type { ApiRoutes } from '../routing';
import { z } from '../zod';

const Token = z.string().min(20).max(100).regex(/^[A-Za-z0-9_-]+$/);
const deadLink = () => new HttpProblem(404, 'Not found', 'this order link is unknown, has expired, or its order has moved on');

const OrderLinkView = z.object({
  caseId: z.string(), caseType: z.string(), orderId: z.string(), kind: z.enum(['service_order', 'review', 'visit']),
  status: z.string(), actions: z.array(z.string()), expiresAt: z.string(), case: z.record(z.string(), z.unknown()),
}).openapi('OrderLink');

export function orderLinkRoutes(routes: ApiRoutes, deps: ApiDeps): void {
  async function live(token: string) {
    const link = await findOrderLink(deps.pool, token);
    const spec = link ? ORDER_LINK_KIND_SPECS[link.kind] : undefined;
    if (!link || !spec) throw deadLink();
    const order = await spec.load(deps, link);
    if (!order) throw deadLink();
    return { link, spec, order };
  }

  routes.add({
    method: 'get', path: '/v1/order-links/:token', operationId: 'getOrderLink', tag: 'order links', roles: 'public',
    summary: 'The order behind an order link (the token is the credential); 404 once it has moved on, ended or expired',
    params: z.object({ token: z.string().max(200) }).strict(),
    responses: { 200: { description: 'the order', schema: OrderLinkView }, 404: { description: 'dead or unknown link' } },
    handler: async ({ params, res }) => {
      if (!Token.safeParse(params.token).success) throw deadLink();
      const { link, order } = await live(params.token);
      res.locals.principal = linkPrincipal(link);
      return {
        status: 200, headers: { 'Cache-Control': 'no-store' },
        body: { caseId: link.case_id, caseType: order.caseType, orderId: link.order_id, kind: link.kind, status: order.status, actions: order.actions, expiresAt: link.expires_at.toISOString(), case: order.case },
      };
    },
  });

  routes.add({
    method: 'post', path: '/v1/order-links/:token/:action', operationId: 'actOnOrderLink', tag: 'order links', roles: 'public',
    summary: 'Act on the order of an order link (accept, decline, progress, complete, review; check-in/out for visits): same body and answers as the partner action',
    params: z.object({ token: z.string().max(200), action: z.enum(ORDER_LINK_ACTIONS) }).strict(),
    // Every field any action takes (each action's own schema checks its body after); anything else is refused.
    body: z.object({
      reason: z.unknown().optional(), note: z.unknown().optional(), hoursSpent: z.unknown().optional(), approved: z.unknown().optional(),
      carer: z.unknown().optional(), location: z.unknown().optional(), services: z.unknown().optional(),
    }).strict().optional(),
    responses: {
      200: { description: 'the case after the action' }, 404: { description: 'dead or unknown link' },
      409: { description: 'the order\'s state forbids the action' },
    },
    handler: async ({ params, body, res }) => {
      if (!Token.safeParse(params.token).success) throw deadLink();
      const { link, spec } = await live(params.token);
      res.locals.principal = linkPrincipal(link);
      const action = spec.actions[params.action];
      if (!action) throw badRequest(`this order has no action ${params.action}`, [{ path: 'path.action', message: `one of: ${Object.keys(spec.actions).join(', ')}` }]);
      const parsed = action.body.safeParse(body ?? {});
      if (!parsed.success) throw fromZodError('body', parsed.error);
      const result = await action.perform(deps, link, parsed.data);
      return { status: 200, body: result, caseId: link.case_id };
    },
  });
}
