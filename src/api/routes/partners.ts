import { webhookSecretBoxFor, type WebhookSecretBox } from '../../crypto/secretBox';
import { decodeCursor, encodeCursor } from '../../db/cursor';
import { getPartner, insertPartner, listPartners, partnerView, updatePartner } from '../../db/partners';
import { isPrivateHost, refusedHostReason } from '../../net/privateAddress';
import { forgetPartnerKeys } from '../auth';
import type { ApiDeps } from '../deps';
import { checkPartnerChange, checkPartnerCreate } from '../partnerScope';
import { badRequest, forbidden, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { CreatePartner, IdParam, PartnerList, PartnerQuery, PartnerView, UpdatePartner } from '../schemas';

/** Kept here too for callers that imported it from this module. */
export { isPrivateHost };

/** Why a partner's webhook URL is refused (null: allowed); the partner routes and the roster import share it. */
export function webhookUrlRefusal(config: ApiDeps['config'], url: string | undefined): string | null {
  if (!url) return null;
  // Signed bodies carry residents' contact details: never in clear over the network in production.
  if (config.APP_ENV === 'production' && new URL(url).protocol !== 'https:') return 'production sends webhooks over https only';
  // Early and friendly only: the check that holds is at the socket, at every delivery (webhookDispatcher.ts).
  const refused = refusedHostReason(new URL(url).hostname, config.webhookAllowCidrs);
  return refused ? `${refused}: non-public addresses are refused unless named in WEBHOOK_ALLOW_CIDRS` : null;
}

export function partnerRoutes(routes: ApiRoutes, { pool, config }: ApiDeps): void {
  // Built on first use: building the routes (OpenAPI, the role matrix) needs no keys.
  let box: WebhookSecretBox | null = null;
  const secrets = () => (box ??= webhookSecretBoxFor(config));

  const checkWebhookUrl = (url: string | undefined) => {
    const refused = webhookUrlRefusal(config, url);
    if (refused) throw badRequest('webhook URL not allowed', [{ path: 'body.webhookUrl', message: refused }]);
  };

  routes.add({
    method: 'post', path: '/v1/partners', operationId: 'createPartner', tag: 'partners', roles: ['admin', 'supervisor'],
    summary: 'Register a partner organisation (共建单位, department or linked institution)',
    body: CreatePartner,
    responses: { 201: { description: 'created', schema: PartnerView } },
    handler: async ({ body, principal }) => {
      checkPartnerCreate(principal, body);
      checkWebhookUrl(body.webhookUrl);
      return { status: 201, body: partnerView(await insertPartner(pool, body, secrets())) };
    },
  });

  routes.add({
    method: 'get', path: '/v1/partners', operationId: 'listPartners', tag: 'partners', roles: ['admin', 'supervisor', 'staff'],
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
    method: 'get', path: '/v1/partners/:id', operationId: 'getPartner', tag: 'partners', roles: ['admin', 'supervisor', 'staff', 'partner'],
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
    method: 'patch', path: '/v1/partners/:id', operationId: 'updatePartner', tag: 'partners', roles: ['admin', 'supervisor'],
    summary: 'Change any field of a partner (e.g. { "active": false }, or a new webhookSecret); a key limited to communities: its own partners, never the webhook',
    params: IdParam,
    body: UpdatePartner,
    responses: { 200: { description: 'the updated partner', schema: PartnerView }, 404: { description: 'unknown partner' } },
    handler: async ({ params, body, principal }) => {
      const current = await getPartner(pool, params.id);
      if (!current) throw notFound(`partner ${params.id}`);
      checkPartnerChange(principal, current, body);
      checkWebhookUrl(body.webhookUrl);
      if (body.webhookUrl && !body.webhookSecret) {
        const { rows } = await pool.query('SELECT 1 FROM partners WHERE id = $1 AND webhook_secret IS NULL AND webhook_secret_sealed IS NULL', [params.id]);
        if (rows.length) throw badRequest('webhook without a secret', [{ path: 'body.webhookSecret', message: 'this partner has no webhookSecret yet: send one with the webhookUrl' }]);
      }
      if (body.webhookSecret && !body.webhookUrl) {
        const { rows } = await pool.query('SELECT 1 FROM partners WHERE id = $1 AND webhook_url IS NULL', [params.id]);
        if (rows.length) throw badRequest('secret without a webhook', [{ path: 'body.webhookUrl', message: 'this partner has no webhookUrl: send one with the webhookSecret' }]);
      }
      const row = await updatePartner(pool, params.id, body, secrets());
      if (!row) throw notFound(`partner ${params.id}`);
      // Its keys stop at once here (other API processes within API_KEY_CACHE_MS).
      if (body.active === false) forgetPartnerKeys(pool, params.id);
      return { status: 200, body: partnerView(row) };
    },
  });
}
