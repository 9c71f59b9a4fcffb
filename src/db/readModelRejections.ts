/** Read-model batches Postgres refused for their data (migration 010): kept until the case's events are stored after all. */
import type { Pool } from 'pg';

export interface ReadModelRejection {
  caseId: string;
  community: string | null;
  firstSeq: number;
  lastSeq: number;
  sqlstate: string;
  message: string;
  attempts: number;
  lastAt: string;
}

/** The error text itself may quote the refused value. */
const storable = (text: string) => text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD').replace(/\u0000/g, '');

export async function recordRejection(pool: Pool, r: Omit<ReadModelRejection, 'attempts' | 'lastAt'>): Promise<void> {
  await pool.query(
    `INSERT INTO read_model_rejections (case_id, community, first_seq, last_seq, sqlstate, message) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (case_id, first_seq, last_seq) DO UPDATE
       SET attempts = read_model_rejections.attempts + 1, sqlstate = EXCLUDED.sqlstate, message = EXCLUDED.message, last_at = now()`,
    [r.caseId, r.community, r.firstSeq, r.lastSeq, r.sqlstate, storable(r.message).slice(0, 1000)]);
}

/**
 * Rejections whose events are still not in the read model. Once the last seq of a rejected
 * batch is stored after all (the data was fixed and re-sent, or a resync wrote it), it no
 * longer counts.
 */
export async function unresolvedRejections(pool: Pool, community?: string): Promise<ReadModelRejection[]> {
  const { rows } = await pool.query(
    `SELECT r.case_id, r.community, r.first_seq, r.last_seq, r.sqlstate, r.message, r.attempts, r.last_at FROM read_model_rejections r
      WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = r.case_id AND e.seq = r.last_seq)
        AND ($1::text IS NULL OR r.community = $1)
      ORDER BY r.last_at DESC`, [community ?? null]);
  return rows.map((r) => ({
    caseId: r.case_id, community: r.community, firstSeq: r.first_seq, lastSeq: r.last_seq, sqlstate: r.sqlstate,
    message: r.message, attempts: r.attempts, lastAt: r.last_at.toISOString(),
  }));
}
