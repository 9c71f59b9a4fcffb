/**
 * The retention job (`npm run retention`): personal data of cases closed longer ago than
 * RETENTION_AFTER leaves the read model; the figures stay, so reports do not change.
 * Works in batches, each one transaction, oldest first; a case is marked
 * (`personal_data_removed_at`) so a second run skips it and reconciliation does not bring
 * the data back from history. Idempotent and safe to stop at any point.
 */
import type { Pool, PoolClient } from 'pg';
import { redactPersonalData } from './redaction';

export interface RetentionOptions {
  pool: Pool;
  /** Cases closed before `now - retentionAfterMs` are redacted. */
  retentionAfterMs: number;
  now?: Date;
  batchSize?: number;
  /** Count what is due without changing anything. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface RetentionSummary {
  cutoff: string;
  /** Cases redacted (or, with dryRun, due). */
  cases: number;
  events: number;
}

export async function runRetention(o: RetentionOptions): Promise<RetentionSummary> {
  const cutoff = new Date((o.now ?? new Date()).getTime() - o.retentionAfterMs);
  const batchSize = o.batchSize ?? 500;
  if (o.dryRun) {
    const { rows } = await o.pool.query<{ cases: string; events: string }>(
      `SELECT count(*) AS cases, coalesce(sum((SELECT count(*) FROM case_events e WHERE e.case_id = c.id)), 0) AS events
       FROM cases c WHERE personal_data_removed_at IS NULL AND closed_at IS NOT NULL AND closed_at < $1`, [cutoff]);
    return { cutoff: cutoff.toISOString(), cases: Number(rows[0].cases), events: Number(rows[0].events) };
  }
  const summary: RetentionSummary = { cutoff: cutoff.toISOString(), cases: 0, events: 0 };
  for (;;) {
    const db = await o.pool.connect();
    try {
      await db.query('BEGIN');
      const done = await redactBatch(db, cutoff, batchSize);
      await db.query('COMMIT');
      summary.cases += done.cases;
      summary.events += done.events;
      if (done.cases > 0) o.log?.(`removed personal data from ${summary.cases} case(s) so far`);
      if (done.cases < batchSize) return summary;
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }
}

async function redactBatch(db: PoolClient, cutoff: Date, limit: number): Promise<{ cases: number; events: number }> {
  // SKIP LOCKED: two runs at once share the work instead of waiting on each other.
  const { rows: cases } = await db.query<{ id: string; details: unknown }>(
    `SELECT id, details FROM cases
     WHERE personal_data_removed_at IS NULL AND closed_at IS NOT NULL AND closed_at < $1
     ORDER BY closed_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, [cutoff, limit]);
  if (cases.length === 0) return { cases: 0, events: 0 };
  const ids = cases.map((c) => c.id);
  await db.query(
    `UPDATE cases c SET details = r.details, personal_data_removed_at = now()
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, details jsonb) WHERE c.id = r.id`,
    [JSON.stringify(cases.map((c) => ({ id: c.id, details: redactPersonalData(c.details) })))]);
  const { rows: events } = await db.query<{ case_id: string; seq: number; data: unknown }>(
    'SELECT case_id, seq, data FROM case_events WHERE case_id = ANY ($1::text[])', [ids]);
  if (events.length > 0) {
    await db.query(
      `UPDATE case_events e SET data = r.data
       FROM jsonb_to_recordset($1::jsonb) AS r(case_id text, seq int, data jsonb) WHERE e.case_id = r.case_id AND e.seq = r.seq`,
      [JSON.stringify(events.map((e) => ({ case_id: e.case_id, seq: e.seq, data: redactPersonalData(e.data) })))]);
  }
  return { cases: cases.length, events: events.length };
}

/** For a case rewritten from history (reconcile) after retention: remove the data again. */
export async function redactCase(db: Pool | PoolClient, caseId: string): Promise<void> {
  const { rows } = await db.query<{ details: unknown }>('SELECT details FROM cases WHERE id = $1', [caseId]);
  if (!rows[0]) return;
  await db.query('UPDATE cases SET details = $2, personal_data_removed_at = coalesce(personal_data_removed_at, now()) WHERE id = $1', [caseId, JSON.stringify(redactPersonalData(rows[0].details))]);
  const { rows: events } = await db.query<{ seq: number; data: unknown }>('SELECT seq, data FROM case_events WHERE case_id = $1', [caseId]);
  for (const e of events) await db.query('UPDATE case_events SET data = $3 WHERE case_id = $1 AND seq = $2', [caseId, e.seq, JSON.stringify(redactPersonalData(e.data))]);
}
