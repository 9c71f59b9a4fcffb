/** API keys: `Authorization: Bearer <key>`; keys are stored only as SHA-256 hashes. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { Role } from '../domain/vocabulary';
import { HttpProblem } from './problem';

export interface Principal {
  keyId: string;
  role: Role;
  partnerId: string | null;
  /** Communities a staff or supervisor key is limited to; null = all. */
  communities: string[] | null;
  /** The escalation level (1-3) the key or user works at, for GET /v1/escalations?level=mine; absent or null = none. */
  escalationLevel?: number | null;
}

export const BOOTSTRAP_ADMIN_KEY_ID = 'bootstrap-admin';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** A new key: `gj_` + 32 random bytes, base64url. High entropy, so a plain SHA-256 hash is safe to store. */
export const generateApiKey = () => `gj_${randomBytes(32).toString('base64url')}`;

export const unauthorized = (detail: string) =>
  new HttpProblem(401, 'Unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer realm="gongjian"' });

interface CachedKey { principal: Principal; expiresAt: number | null; until: number }

/** Keys an API process has looked up, by hash, per pool (the API processes of one database share revocations through it). */
const keyCaches = new WeakMap<Pool, Map<string, CachedKey>>();
/** Above this many cached keys the cache starts over, so a flood of distinct valid keys cannot grow memory without bound. */
const KEY_CACHE_MAX = 10_000;

function keyCacheOf(pool: Pool): Map<string, CachedKey> {
  let cache = keyCaches.get(pool);
  if (!cache) keyCaches.set(pool, (cache = new Map()));
  return cache;
}

/** Drop a revoked key at once from this process's cache (other API processes drop it within API_KEY_CACHE_MS). */
export function forgetApiKey(pool: Pool, keyId: string): void {
  const cache = keyCaches.get(pool);
  if (!cache) return;
  for (const [hash, entry] of cache) if (entry.principal.keyId === keyId) cache.delete(hash);
}

/** Drop the keys of a deactivated partner from this process's cache. */
export function forgetPartnerKeys(pool: Pool, partnerId: string): void {
  const cache = keyCaches.get(pool);
  if (!cache) return;
  for (const [hash, entry] of cache) if (entry.principal.partnerId === partnerId) cache.delete(hash);
}

/**
 * `cacheMs`: how long a key found valid is trusted without asking Postgres again (0 = ask on
 * every request). Every request needs its key and keys change rarely, so this saves a query
 * per request (see BENCHMARKS.md); a key's own expiry still applies to the millisecond, a
 * revocation through this process at once, through another within `cacheMs`. Unknown,
 * revoked and expired keys are never cached.
 */
export function createAuthenticator(pool: Pool, adminKeys: string[], cacheMs = 0, now: () => number = Date.now) {
  const adminHashes = adminKeys.map((k) => Buffer.from(hashKey(k), 'hex'));
  const cache = keyCacheOf(pool);

  return async function authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw unauthorized('send an API key as `Authorization: Bearer <key>`');
    const hash = hashKey(match[1]);
    const hashBuf = Buffer.from(hash, 'hex');
    if (adminHashes.some((h) => timingSafeEqual(h, hashBuf))) {
      return { keyId: BOOTSTRAP_ADMIN_KEY_ID, role: 'admin', partnerId: null, communities: null };
    }
    const t = now();
    const cached = cache.get(hash);
    if (cached && t < cached.until) {
      if (cached.expiresAt === null || t < cached.expiresAt) return cached.principal;
      cache.delete(hash);
      throw unauthorized('the API key has expired');
    }
    const { rows } = await pool.query<{
      id: string; role: Role; partner_id: string | null; communities: string[] | null; escalation_level: number | null; revoked: boolean; expired: boolean; stale: boolean;
      expires_at: Date | null; partner_inactive: boolean;
    }>(
      `SELECT k.id, k.role, k.partner_id, k.communities, k.escalation_level, k.revoked_at IS NOT NULL AS revoked, k.expires_at,
              (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired,
              (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute') AS stale,
              (k.partner_id IS NOT NULL AND coalesce(p.active, false) = false) AS partner_inactive
         FROM api_keys k LEFT JOIN partners p ON p.id = k.partner_id WHERE k.key_hash = $1`, [hash]);
    const key = rows[0];
    if (!key || key.revoked || key.expired || key.partner_inactive) {
      cache.delete(hash);
      if (key?.partner_inactive && !key.revoked) throw unauthorized('the partner organisation of this key is deactivated');
      throw unauthorized(key && !key.revoked ? 'the API key has expired' : 'the API key is unknown or revoked');
    }
    if (key.stale) {
      // last-used time at minute resolution, off the request's critical path
      pool.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [key.id]).catch(() => undefined);
    }
    const principal: Principal = {
      keyId: key.id, role: key.role, partnerId: key.partner_id,
      communities: key.communities && key.communities.length > 0 ? key.communities : null,
      escalationLevel: key.escalation_level,
    };
    if (cacheMs > 0) {
      if (cache.size >= KEY_CACHE_MAX) cache.clear();
      cache.set(hash, { principal, expiresAt: key.expires_at ? key.expires_at.getTime() : null, until: t + cacheMs });
    }
    return principal;
  };
}

/** Whether a key limited to some communities may see or act on a case of `community`. */
export function inCommunityScope(p: Principal, community: string | null | undefined): boolean {
  return p.communities === null || (community != null && p.communities.includes(community));
}
