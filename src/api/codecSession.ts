/**
 * Browser sessions for the codec endpoint. The Temporal Web UI cannot send our API keys: it
 * sends `Authorization` only with its own OIDC token (and only to https endpoints), and
 * otherwise only cookies ("Include cross-origin credentials"). So an operator signs in once
 * at /codec/login with an admin or supervisor key and gets this cookie: HttpOnly, limited to
 * /codec, SameSite=Strict, 8 hours. It is an HMAC-signed pointer to a session row and its key,
 * not the key, and every use re-checks both: a session ends at logout, and when its key is
 * revoked, expires or is rotated out.
 */
import { createHmac, hkdfSync, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Pool } from 'pg';
import type { Role } from '../domain/vocabulary';
import { BOOTSTRAP_ADMIN_KEY_ID, hashKey, type Principal } from './auth';

export const CODEC_SESSION_COOKIE = 'gj_codec';
export const CODEC_SESSION_SECONDS = 8 * 3600;
/** Enough of the key hash to tell rotated bootstrap keys apart; never enough to matter if leaked. */
const HASH_PREFIX = 16;

interface SessionClaims { s: string; k: string; h: string; e: number }

export interface CodecSessions {
  /** A cookie value for the key in this `Authorization` header (already authenticated as `principal`). */
  issue(principal: Principal, authorization: string): Promise<{ cookie: string; expiresAt: Date }>;
  /** The principal of a valid session cookie on this request, or null. */
  principalFrom(req: Request): Promise<Principal | null>;
  /** End the session of this request's cookie, if any; whether there was one. */
  end(req: Request): Promise<boolean>;
}

/**
 * `secretMaterial` is read on first use (the current payload key: rotating it also ends
 * every session, which is acceptable for 8-hour sessions and needs no extra secret).
 */
export function createCodecSessions(opts: { pool: Pool; adminKeys: string[]; secretMaterial: () => Buffer; now?: () => number }): CodecSessions {
  let secret: Buffer | null = null;
  const now = opts.now ?? Date.now;
  const adminPrefixes = opts.adminKeys.map((k) => hashKey(k).slice(0, HASH_PREFIX));
  const sign = (body: string) => {
    secret ??= Buffer.from(hkdfSync('sha256', opts.secretMaterial(), 'gongjian', 'codec-session-v1', 32));
    return createHmac('sha256', secret).update(body).digest();
  };

  function verify(token: string): SessionClaims | null {
    const [body, mac] = token.split('.');
    if (!body || !mac) return null;
    const given = Buffer.from(mac, 'base64url');
    const expected = sign(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
      return typeof claims.s === 'string' && typeof claims.k === 'string' && typeof claims.h === 'string' && claims.e * 1000 > now() ? claims : null;
    } catch {
      return null;
    }
  }

  return {
    async issue(principal, authorization) {
      const key = authorization.replace(/^Bearer\s+/i, '').trim();
      const expiresAt = new Date(now() + CODEC_SESSION_SECONDS * 1000);
      const id = randomUUID();
      await opts.pool.query('INSERT INTO codec_sessions (id, key_id, expires_at) VALUES ($1, $2, $3)', [id, principal.keyId, expiresAt]);
      const claims: SessionClaims = { s: id, k: principal.keyId, h: hashKey(key).slice(0, HASH_PREFIX), e: Math.floor(expiresAt.getTime() / 1000) };
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return { cookie: `${body}.${sign(body).toString('base64url')}`, expiresAt };
    },

    async principalFrom(req) {
      const token = readCookie(req.header('cookie'), CODEC_SESSION_COOKIE);
      const claims = token ? verify(token) : null;
      if (!claims) return null;
      const live = await opts.pool.query('SELECT 1 FROM codec_sessions WHERE id = $1 AND key_id = $2 AND ended_at IS NULL AND expires_at > now()', [claims.s, claims.k]);
      if (live.rows.length === 0) return null;
      if (claims.k === BOOTSTRAP_ADMIN_KEY_ID) {
        return adminPrefixes.includes(claims.h) ? { keyId: claims.k, role: 'admin', partnerId: null, communities: null } : null;
      }
      const { rows } = await opts.pool.query<{ role: Role; partner_id: string | null; communities: string[] | null }>(
        `SELECT role, partner_id, communities FROM api_keys
          WHERE id = $1 AND left(key_hash, $2) = $3 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
        [claims.k, HASH_PREFIX, claims.h]);
      const key = rows[0];
      if (!key) return null;
      return { keyId: claims.k, role: key.role, partnerId: key.partner_id, communities: key.communities?.length ? key.communities : null };
    },

    async end(req) {
      const token = readCookie(req.header('cookie'), CODEC_SESSION_COOKIE);
      const claims = token ? verify(token) : null;
      if (!claims) return false;
      const { rowCount } = await opts.pool.query('UPDATE codec_sessions SET ended_at = now() WHERE id = $1 AND ended_at IS NULL', [claims.s]);
      return (rowCount ?? 0) > 0;
    },
  };
}

export function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
