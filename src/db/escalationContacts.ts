import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';

/** Secrets are sealed like partners' (src/crypto/secretBox.ts), under the contact's own associated data. */
export const contactSealId = (id: string) => `escalation-contact:${id}`;

export interface EscalationContactRow {
  id: string; name: string; level: number; communities: string[]; webhook_url: string; webhook_secret: string;
  created_at: Date; updated_at: Date;
}

export interface EscalationContactFields { name: string; level: number; communities: string[]; webhookUrl: string; webhookSecret: string }

const COLUMNS = 'id, name, level, communities, webhook_url, webhook_secret, created_at, updated_at';
const FIELD_COLUMNS: Record<keyof EscalationContactFields, string> = {
  name: 'name', level: 'level', communities: 'communities', webhookUrl: 'webhook_url', webhookSecret: 'webhook_secret',
};

/** The secret is write-only, like a partner's. */
export function escalationContactView(r: EscalationContactRow) {
  return {
    id: r.id, name: r.name, level: r.level, communities: r.communities, webhookUrl: r.webhook_url,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

export async function insertEscalationContact(pool: Pool, box: WebhookSecretBox, f: EscalationContactFields): Promise<EscalationContactRow> {
  const id = randomUUID();
  const { rows } = await pool.query<EscalationContactRow>(
    `INSERT INTO escalation_contacts (id, name, level, communities, webhook_url, webhook_secret)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [id, f.name, f.level, f.communities, f.webhookUrl, box.seal(contactSealId(id), f.webhookSecret)]);
  return rows[0];
}

export async function getEscalationContact(pool: Pool, id: string): Promise<EscalationContactRow | null> {
  const { rows } = await pool.query<EscalationContactRow>(`SELECT ${COLUMNS} FROM escalation_contacts WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function updateEscalationContact(
  pool: Pool, box: WebhookSecretBox, id: string, changes: Partial<EscalationContactFields>,
): Promise<EscalationContactRow | null> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const sealed = changes.webhookSecret ? { ...changes, webhookSecret: box.seal(contactSealId(id), changes.webhookSecret) } : changes;
  for (const [field, value] of Object.entries(sealed)) {
    const column = FIELD_COLUMNS[field as keyof EscalationContactFields];
    if (!column || value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await pool.query<EscalationContactRow>(
    `UPDATE escalation_contacts SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, values);
  return rows[0] ?? null;
}

export async function deleteEscalationContact(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM escalation_contacts WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export interface EscalationContactFilter { level?: number; community?: string; limit: number; after?: { createdAt: string; id: string } }

/** Oldest first, keyset-paginated on (created_at, id). */
export async function listEscalationContacts(pool: Pool, f: EscalationContactFilter): Promise<EscalationContactRow[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.level !== undefined) add('level = ?', f.level);
  if (f.community) add('? = ANY (communities)', f.community);
  if (f.after) {
    values.push(f.after.createdAt, f.after.id);
    where.push(`(created_at, id) > ($${values.length - 1}::timestamptz, $${values.length})`);
  }
  values.push(f.limit + 1);
  const { rows } = await pool.query<EscalationContactRow>(
    `SELECT ${COLUMNS} FROM escalation_contacts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${values.length}`, values);
  return rows;
}

/** Who hears of an escalation at `level` in `community` (webhook targets, secrets included). */
export async function contactsFor(pool: Pool, level: number, community: string | null): Promise<EscalationContactRow[]> {
  const { rows } = await pool.query<EscalationContactRow>(
    `SELECT ${COLUMNS} FROM escalation_contacts WHERE level = $1 AND $2::text = ANY (communities) ORDER BY created_at, id`,
    [level, community ?? '']);
  return rows;
}
