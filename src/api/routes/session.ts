/**
 * Log in, who am I, log out. Wrong credentials are one 401 whether or not the username exists
 * (and take as long: an unknown user still costs a scrypt). Five failures for one username
 * within 15 minutes lock it for what is left of that window (429 + Retry-After), whoever sends
 * them. Every attempt is in the audit log (the middleware writes every POST/DELETE); a failure
 * against a known account carries `user:<id>` so the admin sees which account is under attack.
 */
import { clearFailures, endSession, endSessionsOf, findUserByUsername, insertSession, recentFailures, recordFailure, updateUser, userView } from '../../db/users';
import { ROLES } from '../../domain/vocabulary';
import type { ApiDeps } from '../deps';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../passwords';
import { badRequest, forbidden, HttpProblem } from '../problem';
import type { ApiRoutes } from '../routing';
import {
  clearSessionCookie, hashSessionToken, newCsrfToken, newSessionToken, principalOfUser, SESSION_SECONDS, sessionCookie, sessionOf,
} from '../session';
import { Password, UserViewSchema } from './users';
import { z } from '../zod';

export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_WINDOW_MS = 15 * 60_000;

const Login = z.object({ username: z.string().trim().min(1).max(200), password: z.string().min(1).max(1000) }).strict().openapi('Login');
const SessionView = z.object({
  // A union, not .nullable(): on a registered schema the generator drops the null (the document said a key's caller had a user).
  user: z.union([UserViewSchema, z.null()]), csrfToken: z.string().nullable(), expiresAt: z.string().nullable(),
  role: z.enum(ROLES), partnerId: z.string().nullable(), communities: z.array(z.string()).nullable(),
}).openapi('Session');

const ChangePassword = z.object({ currentPassword: z.string().min(1).max(1000), newPassword: Password }).strict().openapi('ChangePassword');

const wrongCredentials = () => new HttpProblem(401, 'Unauthorized', 'wrong username or password');

export function sessionRoutes(routes: ApiRoutes, { pool, config }: ApiDeps): void {
  routes.add({
    method: 'post', path: '/v1/session', operationId: 'logIn', tag: 'users', roles: 'public',
    summary: 'Log in: sets an HttpOnly, SameSite=Strict session cookie and answers the CSRF token',
    body: Login,
    responses: {
      200: { description: 'logged in', schema: SessionView },
      400: { description: 'invalid input' }, 401: { description: 'wrong username or password' },
      429: { description: 'too many failures for this username; see Retry-After' },
    },
    handler: async ({ body, req, res }) => {
      const failures = await recentFailures(pool, body.username, LOCKOUT_WINDOW_MS);
      if (failures.count >= LOCKOUT_FAILURES) {
        const retryAfter = Math.max(1, Math.ceil(((failures.oldest?.getTime() ?? Date.now()) + LOCKOUT_WINDOW_MS - Date.now()) / 1000));
        throw new HttpProblem(429, 'Too many requests', `too many failed logins for this username; try again in ${retryAfter} s`, {}, { 'Retry-After': String(retryAfter) });
      }
      const user = await findUserByUsername(pool, body.username);
      const ok = user && user.active ? await verifyPassword(body.password, user.password_hash) : (await burnPasswordCheck(body.password), false);
      if (!ok || !user) {
        await recordFailure(pool, body.username);
        if (user) res.locals.principal = principalOfUser(user);
        throw wrongCredentials();
      }
      await clearFailures(pool, body.username);
      const token = newSessionToken();
      const csrfToken = newCsrfToken();
      const expiresAt = new Date(Date.now() + SESSION_SECONDS * 1000);
      await insertSession(pool, { tokenHash: hashSessionToken(token), userId: user.id, csrfToken, expiresAt });
      const principal = principalOfUser(user);
      res.locals.principal = principal;
      return {
        status: 200,
        headers: { 'Set-Cookie': sessionCookie(req, config.PUBLIC_BASE_URL, token, SESSION_SECONDS), 'Cache-Control': 'no-store' },
        body: { user: userView(user), csrfToken, expiresAt: expiresAt.toISOString(), role: principal.role, partnerId: principal.partnerId, communities: principal.communities },
      };
    },
  });

  routes.add({
    method: 'get', path: '/v1/session', operationId: 'whoAmI', tag: 'users', roles: ['admin', 'supervisor', 'staff', 'partner'],
    summary: 'Who am I: the session\'s user and CSRF token (with an API key: the key\'s role and scope, no user)',
    responses: { 200: { description: 'the caller', schema: SessionView } },
    handler: async ({ principal, req }) => {
      const s = sessionOf(req);
      return {
        status: 200, headers: { 'Cache-Control': 'no-store' },
        body: {
          user: s ? userView(s.user) : null, csrfToken: s?.csrfToken ?? null, expiresAt: s?.expiresAt.toISOString() ?? null,
          role: principal.role, partnerId: principal.partnerId, communities: principal.communities,
        },
      };
    },
  });

  routes.add({
    method: 'put', path: '/v1/session/password', operationId: 'changeOwnPassword', tag: 'users', roles: ['admin', 'supervisor', 'staff', 'partner'],
    summary: 'Change one\'s own password (a session only: an API key has none); the other sessions of the user end, this one stays',
    body: ChangePassword,
    responses: {
      204: { description: 'changed' }, 400: { description: 'invalid input, or the current password is wrong (body.currentPassword)' },
      403: { description: 'called with an API key' }, 429: { description: 'too many wrong current passwords for this username; see Retry-After' },
    },
    handler: async ({ body, req }) => {
      const s = sessionOf(req);
      if (!s) throw forbidden('an API key has no password: log in as a person to change one');
      // Wrong current passwords count like failed logins (the same lockout), so a left-open session cannot be used to guess it.
      const failures = await recentFailures(pool, s.user.username, LOCKOUT_WINDOW_MS);
      if (failures.count >= LOCKOUT_FAILURES) {
        const retryAfter = Math.max(1, Math.ceil(((failures.oldest?.getTime() ?? Date.now()) + LOCKOUT_WINDOW_MS - Date.now()) / 1000));
        throw new HttpProblem(429, 'Too many requests', `too many wrong passwords for this username; try again in ${retryAfter} s`, {}, { 'Retry-After': String(retryAfter) });
      }
      if (!(await verifyPassword(body.currentPassword, s.user.password_hash))) {
        await recordFailure(pool, s.user.username);
        throw badRequest('wrong current password', [{ path: 'body.currentPassword', message: 'is not the current password' }]);
      }
      await clearFailures(pool, s.user.username);
      await updateUser(pool, s.user.id, { password_hash: await hashPassword(body.newPassword) });
      await endSessionsOf(pool, s.user.id, s.tokenHash);
      return { status: 204, headers: { 'Cache-Control': 'no-store' } };
    },
  });

  routes.add({
    method: 'delete', path: '/v1/session', operationId: 'logOut', tag: 'users', roles: ['admin', 'supervisor', 'staff', 'partner'],
    summary: 'Log out: the session ends and its cookie answers 401 from then on (with an API key: nothing to end)',
    responses: { 204: { description: 'logged out' } },
    handler: async ({ req, res }) => {
      const s = sessionOf(req);
      if (s) await endSession(pool, s.tokenHash);
      clearSessionCookie(req, res, config.PUBLIC_BASE_URL);
      return { status: 204 };
    },
  });
}
