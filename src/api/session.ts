/**
 * Browser sessions of people. The cookie is 32 random bytes (only its SHA-256 is stored),
 * HttpOnly, SameSite=Strict, Secure behind TLS. A session is one more way to produce a
 * Principal: it acts exactly like an API key of the user's role and communities, through the
 * same route declarations. A state-changing request made with the cookie must echo the
 * session's CSRF token in X-CSRF-Token (SameSite=Strict already stops most cross-site
 * requests; the token covers the rest, e.g. a sibling subdomain).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Pool } from 'pg';
import { liveSession, type UserRow } from '../db/users';
import type { Principal } from './auth';
import { readCookie } from './codecSession';
import { forbidden, HttpProblem } from './problem';

export const SESSION_COOKIE = 'gj_session';
export const SESSION_SECONDS = 12 * 3600;
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionInfo { user: UserRow; csrfToken: string; expiresAt: Date; tokenHash: string }

const sessionOfRequest = new WeakMap<Request, SessionInfo>();
/** The session a request was authenticated with (null: an API key, or public). */
export const sessionOf = (req: Request): SessionInfo | null => sessionOfRequest.get(req) ?? null;

export const hashSessionToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const newSessionToken = () => randomBytes(32).toString('base64url');
export const newCsrfToken = () => randomBytes(24).toString('base64url');

/** A user acts with the role and scope of its account; `keyId` names the user in the audit log and idempotency keys. */
export function principalOfUser(u: UserRow): Principal {
  return { keyId: `user:${u.id}`, role: u.role, partnerId: u.partner_id, communities: u.communities?.length ? u.communities : null, escalationLevel: u.escalation_level };
}

const sessionEnded = () => new HttpProblem(401, 'Unauthorized', 'your session has ended or is not valid; log in again', {}, { 'WWW-Authenticate': 'Bearer realm="gongjian"' });

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The principal of the request's session cookie; null when there is no cookie or the request
 * carries an API key (a key wins, so scripts are never affected by a stray cookie).
 */
export function createSessionAuthenticator(pool: Pool) {
  return async function authenticateSession(req: Request): Promise<Principal | null> {
    if (req.header('authorization')) return null;
    const token = readCookie(req.header('cookie'), SESSION_COOKIE);
    if (!token) return null;
    const tokenHash = hashSessionToken(token);
    const live = await liveSession(pool, tokenHash);
    if (!live) throw sessionEnded();
    if (!SAFE_METHODS.has(req.method)) {
      const given = Buffer.from(req.header(CSRF_HEADER) ?? '');
      const expected = Buffer.from(live.csrfToken);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw forbidden('a change made with the session cookie must carry the session\'s X-CSRF-Token header');
      }
    }
    sessionOfRequest.set(req, { ...live, tokenHash });
    return principalOfUser(live.user);
  };
}

/** Secure when the request came over TLS (directly or via the trusted proxy) or the public address is https. */
export function sessionCookie(req: Request, publicBaseUrl: string | undefined, value: string, maxAgeSeconds: number): string {
  const secure = req.secure || (publicBaseUrl ?? '').startsWith('https:');
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearSessionCookie(req: Request, res: Response, publicBaseUrl: string | undefined): void {
  res.setHeader('Set-Cookie', sessionCookie(req, publicBaseUrl, '', 0));
}
