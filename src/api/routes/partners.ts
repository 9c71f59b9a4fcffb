import { decodeCursor, encodeCursor } from '../../db/cursor';
import { getPartner, insertPartner, listPartners, partnerView, updatePartner } from '../../db/partners';
import { isPrivateHost } from '../../net/privateAddress';
import type { ApiDeps } from '../deps';
import { badRequest, forbidden, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { CreatePartner, IdParam, PartnerList, PartnerQuery, PartnerView, UpdatePartner } from '../schemas';

/** Kept here too for callers that imported it from this module. */
export { isPrivateHost };

export function partnerRoutes(routes: ApiRoutes, { pool, config }: ApiDeps): void {
  const checkWebhookUrl = (url: string | undefined) => {
    if (!url || config.webhookAllowPrivate) return;
    if (isPrivateHost(new URL(url).hostname)) {
      throw badRequest('webhook URL not allowed', [{ path: 'body.webhookUrl', message: 'loopback and private addresses are refused in production (set WEBHOOK_ALLOW_PRIVATE=true to allow)' }]);
    }
  };

  routes.add({
    method: 'post', path: '/v1/partners', tag: 'partners', roles: ['admin', 'supervisor'],
    summary: 'Register a partner organisation (共建单位, department or linked institution)',
    body: CreatePartner,
    responses: { 201: { description: 'created', schema: PartnerView } },
    handler: async ({ body }) => {
      checkWebhookUrl(body.webhookUrl);
      return { status: 201, body: partnerView(await insertPartner(pool, body)) };
    },
  });

  routes.add({
    method: 'get', path: '/v1/partners', tag: 'partners', roles: ['admin', 'supervisor', 'staff'],
    summary: 'List partners',
    query: PartnerQuery,
    responses: { 200: { description: 'partners, oldest first', schema: PartnerList } },
    handler: async ({ query }) => {
      const after = decodeCursor(query.cursor, { createdAt: 'instant', id: 'text' });
      if (after === 'invalid') throw badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
      const rows = await listPartners(pool, { ...query, after: after ?? undefined });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        status: 200,
        body: {
          items: page.map(partnerView),
          nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  routes.add({
    method: 'get', path: '/v1/partners/:id', tag: 'partners', roles: ['admin', 'supervisor', 'staff', 'partner'],
    summary: 'One partner (a partner key may read only its own)',
    params: IdParam,
    responses: { 200: { description: 'the partner', schema: PartnerView }, 404: { description: 'unknown partner' } },
    handler: async ({ params, principal }) => {
      if (principal.role === 'partner' && principal.partnerId !== params.id) throw forbidden('a partner key may read only its own organisation');
      const row = await getPartner(pool, params.id);
      if (!row) throw notFound(`partner ${params.id}`);
      return { status: 200, body: partnerView(row) };
    },
  });

  routes.add({
    method: 'patch', path: '/v1/partners/:id', tag: 'partners', roles: ['admin', 'supervisor'],
    summary: 'Change any field of a partner (e.g. { "active": false }, or a new webhookSecret)',
    params: IdParam,
    body: UpdatePartner,
    responses: { 200: { description: 'the updated partner', schema: PartnerView }, 404: { description: 'unknown partner' } },
    handler: async ({ params, body }) => {
      checkWebhookUrl(body.webhookUrl);
      const row = await updatePartner(pool, params.id, body);
      if (!row) throw notFound(`partner ${params.id}`);
      return { status: 200, body: partnerView(row) };
    },
  });
}
