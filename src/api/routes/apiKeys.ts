import { randomUUID } from 'node:crypto';
import { forgetApiKey, generateApiKey, hashKey } from '../auth';
import type { ApiDeps } from '../deps';
import { badRequest, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { ApiKeyList, ApiKeyView, CreateApiKey, CreatedApiKey, IdParam, Pagination } from '../schemas';
import { z } from '../zod';
import { decodeCursor, encodeCursor } from '../../db/cursor';

interface KeyRow {
  id: string; name: string; role: string; partner_id: string | null; communities: string[] | null; escalation_level: number | null;
  created_at: Date; expires_at: Date | null; revoked_at: Date | null; last_used_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const view = (r: KeyRow) => ({
  id: r.id, name: r.name, role: r.role, partnerId: r.partner_id, communities: r.communities, escalationLevel: r.escalation_level,
  createdAt: r.created_at.toISOString(), expiresAt: iso(r.expires_at), revokedAt: iso(r.revoked_at), lastUsedAt: iso(r.last_used_at),
});

export function apiKeyRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'post', path: '/v1/api-keys', operationId: 'createApiKey', tag: 'auth', roles: ['admin'],
    summary: 'Create an API key (the key is shown once; only its hash is stored)',
    body: CreateApiKey,
    responses: { 201: { description: 'created', schema: CreatedApiKey } },
    handler: async ({ body }) => {
      if (body.partnerId) {
        const { rowCount } = await pool.query('SELECT 1 FROM partners WHERE id = $1', [body.partnerId]);
        if (!rowCount) throw badRequest('unknown partner', [{ path: 'body.partnerId', message: `partner ${body.partnerId} does not exist` }]);
      }
      const key = generateApiKey();
      const id = randomUUID();
      await pool.query(
        `INSERT INTO api_keys (id, name, role, partner_id, communities, key_hash, expires_at, escalation_level) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [id, body.name, body.role, body.partnerId ?? null, body.communities ?? null, hashKey(key), body.expiresAt ?? null, body.escalationLevel ?? null]);
      return { status: 201, body: { id, key } };
    },
  });

  routes.add({
    method: 'get', path: '/v1/api-keys', operationId: 'listApiKeys', tag: 'auth', roles: ['admin'],
    summary: 'List API keys (never the keys themselves)',
    query: z.object(Pagination).strict(),
    responses: { 200: { description: 'keys, oldest first', schema: ApiKeyList } },
    handler: async ({ query }) => {
      const after = decodeCursor(query.cursor, { createdAt: 'instant', id: 'text' });
      if (after === 'invalid') throw badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
      const { rows } = await pool.query<KeyRow>(
        `SELECT id, name, role, partner_id, communities, escalation_level, created_at, expires_at, revoked_at, last_used_at FROM api_keys
         WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::text)
         ORDER BY created_at, id LIMIT $3`, [after?.createdAt ?? null, after?.id ?? null, query.limit + 1]);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        status: 200,
        body: {
          items: page.map(view),
          nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  routes.add({
    method: 'delete', path: '/v1/api-keys/:id', operationId: 'revokeApiKey', tag: 'auth', roles: ['admin'],
    summary: 'Revoke an API key (it answers 401 from then on)',
    params: IdParam,
    responses: { 200: { description: 'revoked', schema: ApiKeyView } },
    handler: async ({ params }) => {
      const { rows } = await pool.query<KeyRow>(
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
         RETURNING id, name, role, partner_id, communities, escalation_level, created_at, expires_at, revoked_at, last_used_at`, [params.id]);
      if (!rows[0]) throw notFound(`API key ${params.id}`);
      forgetApiKey(pool, params.id);
      return { status: 200, body: view(rows[0]) };
    },
  });
}
