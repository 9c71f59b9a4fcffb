/** User accounts of people (admin): create, list, read, change, deactivate. API keys stay for systems. */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { decodeCursor, encodeCursor } from '../../db/cursor';
import { endSessionsOf, getUser, insertUser, listUsers, updateUser, userView, type UserRow } from '../../db/users';
import { ROLES, type Role } from '../../domain/vocabulary';
import type { ApiDeps } from '../deps';
import { hashPassword, MIN_PASSWORD_LENGTH } from '../passwords';
import { badRequest, conflict, notFound, type FieldError } from '../problem';
import type { ApiRoutes } from '../routing';
import { IdParam, Pagination } from '../schemas';
import { invalidCursor } from '../scope';
import { z } from '../zod';

const text = (max: number) => z.string().max(max).trim().min(1);
export const Password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(200);
// Leaving `communities` out means "no limit"; an empty list would read as "nowhere", so it is refused.
const Communities = z.array(text(200)).min(1, 'name at least one community, or leave the field out for no limit').max(200);
const EscalationLevel = z.union([z.literal(1), z.literal(2), z.literal(3)]);

export const CreateUser = z.object({
  username: z.string().trim().min(2).max(64).regex(/^[^\s:]+$/, 'no spaces or colons'),
  displayName: text(200),
  password: Password,
  role: z.enum(ROLES),
  communities: Communities.optional(),
  partnerId: z.string().min(1).max(100).optional(),
  escalationLevel: EscalationLevel.optional(),
}).strict().openapi('CreateUser');

export const PatchUser = z.object({
  displayName: text(200).optional(),
  password: Password.optional(),
  role: z.enum(ROLES).optional(),
  communities: Communities.nullable().optional(),
  partnerId: z.string().min(1).max(100).nullable().optional(),
  escalationLevel: EscalationLevel.nullable().optional(),
  active: z.boolean().optional(),
}).strict().refine((v) => Object.keys(v).length > 0, 'send at least one field to change').openapi('PatchUser');

export const UserViewSchema = z.object({
  id: z.string(), username: z.string(), displayName: z.string(), role: z.enum(ROLES), partnerId: z.string().nullable(),
  communities: z.array(z.string()).nullable(), escalationLevel: z.number().int().nullable(), active: z.boolean(),
  createdAt: z.string(), updatedAt: z.string(),
}).openapi('User');
const UserList = z.object({ items: z.array(UserViewSchema), nextCursor: z.string().nullable() }).openapi('UserList');

/** The same rules as for API keys: a partner user acts for one partner; only staff and supervisors are limited to communities. */
async function checkAccount(pool: Pool, u: { role: Role; partnerId: string | null; communities: string[] | null }): Promise<void> {
  const errors: FieldError[] = [];
  if (u.role === 'partner' && !u.partnerId) errors.push({ path: 'body.partnerId', message: 'a partner user needs the partnerId it acts for' });
  if (u.role !== 'partner' && u.partnerId) errors.push({ path: 'body.partnerId', message: 'only partner users carry a partnerId' });
  if (u.communities && !['staff', 'supervisor'].includes(u.role)) errors.push({ path: 'body.communities', message: 'only staff and supervisors are limited to communities' });
  if (!errors.length && u.partnerId) {
    const { rowCount } = await pool.query('SELECT 1 FROM partners WHERE id = $1', [u.partnerId]);
    if (!rowCount) errors.push({ path: 'body.partnerId', message: `partner ${u.partnerId} does not exist` });
  }
  if (errors.length) throw badRequest(`${errors.length} invalid field(s): ${errors.map((e) => e.path).join(', ')}`, errors);
}

export function userRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'post', path: '/v1/users', operationId: 'createUser', tag: 'users', roles: ['admin'],
    summary: 'Create a user account (the password is stored only as a slow salted hash)',
    body: CreateUser,
    responses: { 201: { description: 'created', schema: UserViewSchema }, 409: { description: 'the username is taken' } },
    handler: async ({ body }) => {
      const account = { role: body.role, partnerId: body.partnerId ?? null, communities: body.communities ?? null };
      await checkAccount(pool, account);
      const row = await insertUser(pool, {
        id: randomUUID(), username: body.username, displayName: body.displayName, passwordHash: await hashPassword(body.password),
        ...account, escalationLevel: body.escalationLevel ?? null,
      });
      if (!row) throw conflict(`the username ${body.username} is taken`, { errors: [{ path: 'body.username', message: 'taken' }] });
      return { status: 201, body: userView(row), headers: { Location: `/v1/users/${row.id}` } };
    },
  });

  routes.add({
    method: 'get', path: '/v1/users', operationId: 'listUsers', tag: 'users', roles: ['admin'],
    summary: 'List user accounts, oldest first',
    query: z.object(Pagination).strict(),
    responses: { 200: { description: 'users', schema: UserList } },
    handler: async ({ query }) => {
      const after = decodeCursor(query.cursor, { createdAt: 'instant', id: 'text' });
      if (after === 'invalid') throw invalidCursor();
      const rows = await listUsers(pool, after, query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return { status: 200, body: { items: page.map(userView), nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }) : null } };
    },
  });

  routes.add({
    method: 'get', path: '/v1/users/:id', operationId: 'getUser', tag: 'users', roles: ['admin'],
    summary: 'A user account', params: IdParam,
    responses: { 200: { description: 'the user', schema: UserViewSchema } },
    handler: async ({ params }) => {
      const row = await getUser(pool, params.id);
      if (!row) throw notFound(`user ${params.id}`);
      return { status: 200, body: userView(row) };
    },
  });

  routes.add({
    method: 'patch', path: '/v1/users/:id', operationId: 'patchUser', tag: 'users', roles: ['admin'],
    summary: 'Change a user (role, communities, active, password, displayName); deactivating or a new password ends its sessions',
    params: IdParam, body: PatchUser,
    responses: { 200: { description: 'the user after the change', schema: UserViewSchema } },
    handler: async ({ params, body }) => {
      const current = await getUser(pool, params.id);
      if (!current) throw notFound(`user ${params.id}`);
      const merged = {
        role: body.role ?? current.role,
        partnerId: body.partnerId !== undefined ? body.partnerId : current.partner_id,
        communities: body.communities !== undefined ? body.communities : current.communities,
      };
      await checkAccount(pool, merged);
      const set: Parameters<typeof updateUser>[2] = {};
      if (body.displayName !== undefined) set.display_name = body.displayName;
      if (body.password !== undefined) set.password_hash = await hashPassword(body.password);
      if (body.role !== undefined) set.role = body.role;
      if (body.partnerId !== undefined) set.partner_id = body.partnerId;
      if (body.communities !== undefined) set.communities = body.communities;
      if (body.escalationLevel !== undefined) set.escalation_level = body.escalationLevel;
      if (body.active !== undefined) set.active = body.active;
      const row = (await updateUser(pool, params.id, set)) as UserRow;
      if (body.active === false || body.password !== undefined) await endSessionsOf(pool, params.id);
      return { status: 200, body: userView(row) };
    },
  });

  routes.add({
    method: 'delete', path: '/v1/users/:id', operationId: 'deactivateUser', tag: 'users', roles: ['admin'],
    summary: 'Deactivate a user: it can no longer log in and its sessions end at once',
    params: IdParam,
    responses: { 200: { description: 'deactivated', schema: UserViewSchema } },
    handler: async ({ params }) => {
      const row = await updateUser(pool, params.id, { active: false });
      if (!row) throw notFound(`user ${params.id}`);
      await endSessionsOf(pool, params.id);
      return { status: 200, body: userView(row) };
    },
  });
}
