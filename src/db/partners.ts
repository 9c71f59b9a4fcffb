import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';
import { secretChange } from './webhookSecrets';

export interface PartnerRow {
  id: string; name: string; kind: string; categories: string[]; communities: string[]; grids: string[];
  capacity: number; webhook_url: string | null; active: boolean; department: string | null; institution: string | null;
  hours: string | null; created_at: Date; updated_at: Date;
}

export interface PartnerFields {
  name: string; kind: string; categories: string[]; communities: string[]; grids?: string[]; capacity: number;
  webhookUrl?: string; webhookSecret?: string; active?: boolean; department?: string; institution?: string; hours?: string;
}

const COLUMNS = 'id, name, kind, categories, communities, grids, capacity, webhook_url, active, department, institution, hours, created_at, updated_at';

/** API field -> column, for inserts and PATCH. */
const FIELD_COLUMNS: Record<string, string> = {
  name: 'name', kind: 'kind', categories: 'categories', communities: 'communities', grids: 'grids', capacity: 'capacity',
  webhookUrl: 'webhook_url', active: 'active', department: 'department',
  institution: 'institution', hours: 'hours',
};

export function partnerView(r: PartnerRow) {
  return {
    id: r.id, name: r.name, kind: r.kind, categories: r.categories, communities: r.communities, grids: r.grids,
    capacity: r.capacity, webhookUrl: r.webhook_url, active: r.active, department: r.department,
    institution: r.institution, hours: r.hours, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

/** The webhook secret is sealed with `box` before it reaches Postgres (never stored in clear). */
export async function insertPartner(pool: Pool, f: PartnerFields, box: WebhookSecretBox): Promise<PartnerRow> {
  const id = randomUUID();
  const { rows } = await pool.query<PartnerRow>(
    `INSERT INTO partners (id, name, kind, categories, communities, grids, capacity, webhook_url, webhook_secret_sealed, active, department, institution, hours)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
    [id, f.name, f.kind, f.categories, f.communities, f.grids ?? [], f.capacity, f.webhookUrl ?? null,
      f.webhookSecret ? box.seal(id, f.webhookSecret) : null, f.active ?? true, f.department ?? null, f.institution ?? null, f.hours ?? null]);
  return rows[0];
}

export async function getPartner(pool: Pool, id: string): Promise<PartnerRow | null> {
  const { rows } = await pool.query<PartnerRow>(`SELECT ${COLUMNS} FROM partners WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** A new webhookSecret is sealed, and the one it replaces kept for dual signing (webhookSecrets.ts). */
export async function updatePartner(pool: Pool, id: string, changes: Partial<PartnerFields>, box: WebhookSecretBox): Promise<PartnerRow | null> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const columns: [string, unknown][] = Object.entries(changes).flatMap(([field, value]) =>
    (FIELD_COLUMNS[field] && value !== undefined ? [[FIELD_COLUMNS[field], value] as [string, unknown]] : []));
  if (changes.webhookSecret !== undefined) columns.push(...Object.entries(await secretChange(pool, box, id, changes.webhookSecret)));
  for (const [column, value] of columns) {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await pool.query<PartnerRow>(
    `UPDATE partners SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, values);
  return rows[0] ?? null;
}

export interface PartnerFilter { kind?: string; category?: string; community?: string; active?: boolean; limit: number; after?: { createdAt: string; id: string } }

/** Oldest first, keyset-paginated on (created_at, id). */
export async function listPartners(pool: Pool, f: PartnerFilter): Promise<PartnerRow[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.kind) add('kind = ?', f.kind);
  if (f.category) add('? = ANY (categories)', f.category);
  if (f.community) add('? = ANY (communities)', f.community);
  if (f.active !== undefined) add('active = ?', f.active);
  if (f.after) {
    values.push(f.after.createdAt, f.after.id);
    where.push(`(created_at, id) > ($${values.length - 1}::timestamptz, $${values.length})`);
  }
  values.push(f.limit + 1);
  const { rows } = await pool.query<PartnerRow>(
    `SELECT ${COLUMNS} FROM partners ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${values.length}`, values);
  return rows;
}
