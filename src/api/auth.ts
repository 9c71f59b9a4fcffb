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
}

export const BOOTSTRAP_ADMIN_KEY_ID = 'bootstrap-admin';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** A new key: `gj_` + 32 random bytes, base64url. High entropy, so a plain SHA-256 hash is safe to store. */
export const generateApiKey = () => `gj_${randomBytes(32).toString('base64url')}`;

export const unauthorized = (detail: string) =>
  new HttpProblem(401, 'Unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer realm="gongjian"' });

export function createAuthenticator(pool: Pool, adminKeys: string[]) {
  const adminHashes = adminKeys.map((k) => Buffer.from(hashKey(k), 'hex'));

  return async function authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw unauthorized('send an API key as `Authorization: Bearer <key>`');
    const hash = hashKey(match[1]);
    const hashBuf = Buffer.from(hash, 'hex');
    if (adminHashes.some((h) => timingSafeEqual(h, hashBuf))) {
      return { keyId: BOOTSTRAP_ADMIN_KEY_ID, role: 'admin', partnerId: null, communities: null };
    }
    const { rows } = await pool.query<{
      id: string; role: Role; partner_id: string | null; communities: string[] | null; revoked: boolean; expired: boolean; stale: boolean;
    }>(
      `SELECT id, role, partner_id, communities, revoked_at IS NOT NULL AS revoked,
              (expires_at IS NOT NULL AND expires_at <= now()) AS expired,
              (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS stale
         FROM api_keys WHERE key_hash = $1`, [hash]);
    const key = rows[0];
    if (!key || key.revoked) throw unauthorized('the API key is unknown or revoked');
    if (key.expired) throw unauthorized('the API key has expired');
    if (key.stale) {
      // last-used time at minute resolution, off the request's critical path
      pool.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [key.id]).catch(() => undefined);
    }
    return {
      keyId: key.id, role: key.role, partnerId: key.partner_id,
      communities: key.communities && key.communities.length > 0 ? key.communities : null,
    };
  };
}

/** Whether a key limited to some communities may see or act on a case of `community`. */
export function inCommunityScope(p: Principal, community: string | null | undefined): boolean {
  return p.communities === null || (community != null && p.communities.includes(community));
}
