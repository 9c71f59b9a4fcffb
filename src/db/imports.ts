/** The imports table, and the partner roster written with its import in one statement. */
import type { Pool } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';

export interface ImportRow {
  id: string; keyId: string; kind: string; fileHash: string; status: 'running' | 'done' | 'failed';
  rows: number; created: number; caseIds: string[]; error: string | null; updatedAt: Date;
}

const COLUMNS = 'id, key_id, kind, file_hash, status, rows, created, case_ids, error, updated_at';
const fromDb = (r: any): ImportRow => ({
  id: r.id, keyId: r.key_id, kind: r.kind, fileHash: r.file_hash, status: r.status, rows: r.rows, created: r.created,
  caseIds: r.case_ids, error: r.error, updatedAt: r.updated_at,
});

export async function getImport(pool: Pool, id: string): Promise<ImportRow | null> {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM imports WHERE id = $1`, [id]);
  return rows[0] ? fromDb(rows[0]) : null;
}

/** The new import, or (same key, kind and file) the first one: `first` says which. */
export async function createImport(pool: Pool, i: Omit<ImportRow, 'created' | 'error' | 'updatedAt'>): Promise<{ row: ImportRow; first: boolean }> {
  const { rows } = await pool.query(
    `WITH ins AS (
       INSERT INTO imports (id, key_id, kind, file_hash, status, rows, case_ids) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (key_id, kind, file_hash) DO NOTHING RETURNING ${COLUMNS}
     )
     SELECT *, true AS first FROM ins
     UNION ALL SELECT ${COLUMNS}, false FROM imports WHERE key_id = $2 AND kind = $3 AND file_hash = $4 LIMIT 1`,
    [i.id, i.keyId, i.kind, i.fileHash, i.status, i.rows, JSON.stringify(i.caseIds)]);
  if (!rows[0]) return createImport(pool, i); // lost a race with the same file: the other insert is visible now
  return { row: fromDb(rows[0]), first: rows[0].first };
}

export async function recordImportProgress(pool: Pool, id: string, created: number, status: ImportRow['status'] = 'running', error: string | null = null): Promise<void> {
  await pool.query('UPDATE imports SET created = $2, status = $3, error = $4, updated_at = now() WHERE id = $1', [id, created, status, error]);
}

/** Start a stalled or failed import again (its process died, or Temporal was down). */
export async function restartImport(pool: Pool, id: string): Promise<void> {
  await pool.query(`UPDATE imports SET status = 'running', error = NULL, updated_at = now() WHERE id = $1`, [id]);
}

/**
 * The roster: the import row and every partner in one statement, so it is all or nothing and a
 * second post of the same file (the import row exists) inserts no partner.
 */
export async function importPartners(
  pool: Pool, i: { id: string; keyId: string; fileHash: string }, partners: { id: string; fields: Record<string, unknown> }[],
  box: WebhookSecretBox,
): Promise<{ row: ImportRow; first: boolean }> {
  // Secrets are sealed before they reach Postgres, as for POST /v1/partners (never stored in clear).
  const sealed = partners.map(({ id, fields: { webhookSecret, ...rest } }) => ({
    id, ...rest, webhookSecretSealed: typeof webhookSecret === 'string' && webhookSecret ? box.seal(id, webhookSecret) : null,
  }));
  const { rows } = await pool.query(
    `WITH imp AS (
       INSERT INTO imports (id, key_id, kind, file_hash, status, rows, created, case_ids)
       VALUES ($1, $2, 'partners', $3, 'done', $4, $4, $5) ON CONFLICT (key_id, kind, file_hash) DO NOTHING RETURNING id
     ), ins AS (
       INSERT INTO partners (id, name, kind, categories, communities, grids, capacity, webhook_url, webhook_secret_sealed, active, department, institution, hours)
       SELECT p.id, p.name, p.kind, p.categories, p.communities, coalesce(p.grids, '{}'), p.capacity, p."webhookUrl", p."webhookSecretSealed",
         coalesce(p.active, true), p.department, p.institution, p.hours
       FROM jsonb_to_recordset($6::jsonb) AS p(id text, name text, kind text, categories text[], communities text[], grids text[],
         capacity int, "webhookUrl" text, "webhookSecretSealed" text, active boolean, department text, institution text, hours text)
       WHERE EXISTS (SELECT 1 FROM imp)
       ON CONFLICT (id) DO NOTHING RETURNING id
     )
     SELECT (SELECT count(*) FROM ins)::int AS inserted, EXISTS (SELECT 1 FROM imp) AS first`,
    [i.id, i.keyId, i.fileHash, partners.length, JSON.stringify(partners.map((p) => p.id)),
      JSON.stringify(sealed)]);
  const first: boolean = rows[0].first;
  if (first) return { row: (await getImport(pool, i.id))!, first };
  const { rows: existing } = await pool.query(`SELECT ${COLUMNS} FROM imports WHERE key_id = $1 AND kind = 'partners' AND file_hash = $2`, [i.keyId, i.fileHash]);
  return { row: fromDb(existing[0]), first };
}
