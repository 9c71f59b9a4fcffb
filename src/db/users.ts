/** User accounts, their sessions and failed logins (migration 025). */
import type { Pool } from 'pg';
import type { Role } from '../domain/vocabulary';

export interface UserRow {
  id: string; username: string; display_name: string; password_hash: string; role: Role; partner_id: string | null;
  communities: string[] | null; escalation_level: number | null; active: boolean; created_at: Date; updated_at: Date;
}

export interface UserView {
  id: string; username: string; displayName: string; role: Role; partnerId: string | null; communities: string[] | null;
  escalationLevel: number | null; active: boolean; createdAt: string; updatedAt: string;
}

/** What the API shows of a user: never the password or its hash. */
export const userView = (u: UserRow): UserView => ({
  id: u.id, username: u.username, displayName: u.display_name, role: u.role, partnerId: u.partner_id,
  communities: u.communities, escalationLevel: u.escalation_level, active: u.active,
  createdAt: u.created_at.toISOString(), updatedAt: u.updated_at.toISOString(),
});

const COLUMNS = 'id, username, display_name, password_hash, role, partner_id, communities, escalation_level, active, created_at, updated_at';

export async function insertUser(pool: Pool, u: {
  id: string; username: string; displayName: string; passwordHash: string; role: Role; partnerId: string | null;
  communities: string[] | null; escalationLevel: number | null;
}): Promise<UserRow | null> {
  const { rows } = await pool.query<UserRow>(
    `INSERT INTO users (id, username, display_name, password_hash, role, partner_id, communities, escalation_level)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [u.id, u.username, u.displayName, u.passwordHash, u.role, u.partnerId, u.communities, u.escalationLevel]);
  return rows[0] ?? null;
}

export async function getUser(pool: Pool, id: string): Promise<UserRow | null> {
  const { rows } = await pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findUserByUsername(pool: Pool, username: string): Promise<UserRow | null> {
  const { rows } = await pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(username) = lower($1)`, [username]);
  return rows[0] ?? null;
}

export async function listUsers(pool: Pool, after: { createdAt: string; id: string } | null, limit: number): Promise<UserRow[]> {
  const { rows } = await pool.query<UserRow>(
    `SELECT ${COLUMNS} FROM users WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::text)
     ORDER BY created_at, id LIMIT $3`, [after?.createdAt ?? null, after?.id ?? null, limit]);
  return rows;
}

/** Set the given columns (already validated); null values clear nullable columns. */
export async function updateUser(pool: Pool, id: string, set: Partial<Record<'display_name' | 'password_hash' | 'role' | 'partner_id' | 'communities' | 'escalation_level' | 'active', unknown>>): Promise<UserRow | null> {
  const entries = Object.entries(set);
  if (entries.length === 0) return getUser(pool, id);
  const assignments = entries.map(([col], i) => `${col} = $${i + 2}`).join(', ');
  const { rows } = await pool.query<UserRow>(
    `UPDATE users SET ${assignments}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id, ...entries.map(([, v]) => v)]);
  return rows[0] ?? null;
}

/** End every open session of a user (deactivation, password change), but the one `keep` names (its own password change). */
export async function endSessionsOf(pool: Pool, userId: string, keep?: string): Promise<number> {
  const { rowCount } = await pool.query(
    'UPDATE user_sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL AND token_hash IS DISTINCT FROM $2', [userId, keep ?? null]);
  return rowCount ?? 0;
}

export async function insertSession(pool: Pool, s: { tokenHash: string; userId: string; csrfToken: string; expiresAt: Date }): Promise<void> {
  await pool.query('INSERT INTO user_sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)',
    [s.tokenHash, s.userId, s.csrfToken, s.expiresAt]);
}

/** The live session of this cookie hash with its (active) user, or null: unknown, ended, expired or deactivated. */
export async function liveSession(pool: Pool, tokenHash: string): Promise<{ user: UserRow; csrfToken: string; expiresAt: Date } | null> {
  const { rows } = await pool.query<UserRow & { csrf_token: string; expires_at: Date }>(
    `SELECT ${COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')}, s.csrf_token, s.expires_at
       FROM user_sessions s JOIN users u ON u.id = s.user_id
      WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND u.active`, [tokenHash]);
  const r = rows[0];
  if (!r) return null;
  const { csrf_token, expires_at, ...user } = r;
  return { user, csrfToken: csrf_token, expiresAt: expires_at };
}

export async function endSession(pool: Pool, tokenHash: string): Promise<void> {
  await pool.query('UPDATE user_sessions SET ended_at = now() WHERE token_hash = $1 AND ended_at IS NULL', [tokenHash]);
}

/** Failures for this username inside the window, and when the oldest of them leaves it. */
export async function recentFailures(pool: Pool, username: string, windowMs: number): Promise<{ count: number; oldest: Date | null }> {
  const { rows } = await pool.query<{ count: string; oldest: Date | null }>(
    `SELECT count(*) AS count, min(at) AS oldest FROM login_failures
      WHERE lower(username) = lower($1) AND at > now() - make_interval(secs => $2 / 1000.0)`, [username, windowMs]);
  return { count: Number(rows[0].count), oldest: rows[0].oldest };
}

export async function recordFailure(pool: Pool, username: string): Promise<void> {
  await pool.query('INSERT INTO login_failures (username) VALUES ($1)', [username.slice(0, 200)]);
}

export async function clearFailures(pool: Pool, username: string): Promise<void> {
  await pool.query('DELETE FROM login_failures WHERE lower(username) = lower($1)', [username]);
}
