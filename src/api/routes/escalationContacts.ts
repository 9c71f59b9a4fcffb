/** Escalation contacts: who hears of an escalation at each level (逐级督办), by community. */
import { decodeCursor, encodeCursor } from '../../db/cursor';
import {
  deleteEscalationContact, escalationContactView, getEscalationContact, insertEscalationContact, listEscalationContacts,
  updateEscalationContact,
} from '../../db/escalationContacts';
import { webhookSecretBoxFor, type WebhookSecretBox } from '../../crypto/secretBox';
import type { ApiDeps } from '../deps';
import { inCommunityScope, type Principal } from '../auth';
import { badRequest, forbidden, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { CreatePartner, IdParam, Pagination } from '../schemas';
import { webhookUrlRefusal } from './partners';
import { z } from '../zod';

export const EscalationLevel = z.number().int().min(1).max(3)
  .openapi({ description: '1 the grid (网格长), 2 the community (社区), 3 the street office (街道)' });

const contactFields = {
  name: z.string().max(200).trim().min(1),
  level: EscalationLevel,
  communities: z.array(z.string().max(200).trim().min(1)).min(1).max(500),
  webhookUrl: CreatePartner.shape.webhookUrl.unwrap(),
  webhookSecret: z.string().min(16, 'must be at least 16 characters').max(500),
};

const CreateEscalationContact = z.object(contactFields).strict().openapi('CreateEscalationContact');
const UpdateEscalationContact = z.object(contactFields).partial().strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .openapi('UpdateEscalationContact');

const EscalationContactView = z.object({
  id: z.string(), name: z.string(), level: z.number().int(), communities: z.array(z.string()), webhookUrl: z.string(),
  createdAt: z.string(), updatedAt: z.string(),
}).openapi('EscalationContact');

const ContactQuery = z.object({
  level: z.coerce.number().int().min(1).max(3).optional(),
  community: z.string().max(200).optional(),
  ...Pagination,
}).strict();

export function escalationContactRoutes(routes: ApiRoutes, { pool, config }: ApiDeps): void {
  const checkWebhookUrl = (url: string | undefined) => {
    const refused = webhookUrlRefusal(config, url);
    if (refused) throw badRequest('webhook URL not allowed', [{ path: 'body.webhookUrl', message: refused }]);
  };
  // Built on first use: building the routes (OpenAPI, the role matrix) needs no keys.
  let box: WebhookSecretBox | null = null;
  const secrets = () => (box ??= webhookSecretBoxFor(config));
  const roles = ['admin', 'supervisor'] as const;
  /** A key limited to communities manages only contacts all of whose communities are its own. */
  const checkScope = (p: Principal, communities: readonly string[] | undefined) => {
    const outside = (communities ?? []).filter((c) => !inCommunityScope(p, c));
    if (outside.length) throw forbidden(`communities outside your key's: ${outside.join(', ')}`);
  };
  const ownContact = async (p: Principal, id: string) => {
    const row = await getEscalationContact(pool, id);
    if (!row) throw notFound(`escalation contact ${id}`);
    checkScope(p, row.communities);
    return row;
  };

  routes.add({
    method: 'post', path: '/v1/escalation-contacts', operationId: 'createEscalationContact', tag: 'escalations', roles,
    summary: 'Add who is told (signed escalation.raised webhook) when an escalation reaches a level in their communities',
    body: CreateEscalationContact,
    responses: { 201: { description: 'created', schema: EscalationContactView } },
    handler: async ({ body, principal }) => {
      checkScope(principal, body.communities);
      checkWebhookUrl(body.webhookUrl);
      return { status: 201, body: escalationContactView(await insertEscalationContact(pool, secrets(), body)) };
    },
  });

  routes.add({
    method: 'get', path: '/v1/escalation-contacts', operationId: 'listEscalationContacts', tag: 'escalations', roles,
    summary: 'Escalation contacts, oldest first',
    query: ContactQuery,
    responses: { 200: { description: 'contacts', schema: z.object({ items: z.array(EscalationContactView), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const after = decodeCursor(query.cursor, { createdAt: 'instant', id: 'text' });
      if (after === 'invalid') throw badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
      if (query.community && !inCommunityScope(principal, query.community)) throw forbidden(`community ${query.community} is outside the communities of your key`);
      const rows = (await listEscalationContacts(pool, { ...query, after: after ?? undefined }))
        .filter((r) => !principal.communities || r.communities.every((c) => inCommunityScope(principal, c)));
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        status: 200,
        body: {
          items: page.map(escalationContactView),
          nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  routes.add({
    method: 'get', path: '/v1/escalation-contacts/:id', operationId: 'getEscalationContact', tag: 'escalations', roles,
    summary: 'One escalation contact',
    params: IdParam,
    responses: { 200: { description: 'the contact', schema: EscalationContactView }, 404: { description: 'unknown contact' } },
    handler: async ({ params, principal }) => {
      return { status: 200, body: escalationContactView(await ownContact(principal, params.id)) };
    },
  });

  routes.add({
    method: 'patch', path: '/v1/escalation-contacts/:id', operationId: 'updateEscalationContact', tag: 'escalations', roles,
    summary: 'Change any field of an escalation contact',
    params: IdParam,
    body: UpdateEscalationContact,
    responses: { 200: { description: 'the updated contact', schema: EscalationContactView }, 404: { description: 'unknown contact' } },
    handler: async ({ params, body, principal }) => {
      await ownContact(principal, params.id);
      checkScope(principal, body.communities);
      checkWebhookUrl(body.webhookUrl);
      const row = await updateEscalationContact(pool, secrets(), params.id, body);
      if (!row) throw notFound(`escalation contact ${params.id}`);
      return { status: 200, body: escalationContactView(row) };
    },
  });

  routes.add({
    method: 'delete', path: '/v1/escalation-contacts/:id', operationId: 'deleteEscalationContact', tag: 'escalations', roles,
    summary: 'Remove an escalation contact',
    params: IdParam,
    responses: { 204: { description: 'removed' }, 404: { description: 'unknown contact' } },
    handler: async ({ params, principal }) => {
      await ownContact(principal, params.id);
      if (!(await deleteEscalationContact(pool, params.id))) throw notFound(`escalation contact ${params.id}`);
      return { status: 204 };
    },
  });
}
