/**
 * `npm start` on a fresh database: the first person needs an account to log in to the console.
 * When there are no users at all, an `admin` user is created with a random password kept in
 * DATA_DIR/admin-password (mode 600), like the generated admin key. It can then create the
 * others (and should change its password: PATCH /v1/users/{id}).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { hashPassword } from '../api/passwords';
import { insertUser } from '../db/users';

export async function ensureFirstAdmin(pool: Pool, dataDir: string): Promise<string> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  const file = join(dataDir, 'admin-password');
  if (rows[0].n > 0) return existsSync(file) ? `admin, password in ${file}` : 'log in with your account';
  const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : randomBytes(12).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  await insertUser(pool, {
    id: randomUUID(), username: 'admin', displayName: '管理员', passwordHash: await hashPassword(password), role: 'admin',
    partnerId: null, communities: null, escalationLevel: null,
  });
  return `admin, password in ${file}`;
}
