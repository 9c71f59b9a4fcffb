/** The escalations read model: written from case snapshots, listed by GET /v1/escalations. */
import type { Pool } from 'pg';
import type { CaseEventBatch } from '../domain/caseEvents';
import type { EscalationRecord } from '../domain/escalation';
import { exactTimestamp } from './caseViews';

/** The escalations a snapshot carries (details.escalations), if any. */
export function escalationsOf(batch: CaseEventBatch): EscalationRecord[] {
  const list = batch.snapshot.details?.escalations;
  return Array.isArray(list) ? (list as EscalationRecord[]) : [];
}

/**
 * Upsert every escalation of the case as the batch's snapshot has it, unless a newer batch
 * already wrote it. Cheap to skip: a batch without escalation events or a resync writes nothing.
 */
export async function recordEscalations(pool: Pool, batch: CaseEventBatch): Promise<void> {
  const records = escalationsOf(batch);
  if (records.length === 0 || batch.events.length === 0) return;
  if (!batch.resync && !batch.events.some((e) => e.type.startsWith('escalation_'))) return;
  const s = batch.snapshot;
  const lastSeq = batch.events[batch.events.length - 1].seq;
  await pool.query(
    `INSERT INTO escalations AS e (case_id, number, case_type, community, reason, level, status, since, level_since,
       next_level_at, acknowledged_by, acknowledged_at, resolved_at, last_seq)
     SELECT $1, (r->>'number')::int, $2, $3, r->>'reason', (r->>'level')::smallint, r->>'status', (r->>'since')::timestamptz,
       (r->>'levelSince')::timestamptz, (r->>'nextLevelAt')::timestamptz, r->>'acknowledgedBy', (r->>'acknowledgedAt')::timestamptz,
       (r->>'resolvedAt')::timestamptz, $5::int
     FROM jsonb_array_elements($4::jsonb) r
     ON CONFLICT (case_id, number) DO UPDATE SET
       community = EXCLUDED.community, reason = EXCLUDED.reason, level = EXCLUDED.level, status = EXCLUDED.status,
       since = EXCLUDED.since, level_since = EXCLUDED.level_since, next_level_at = EXCLUDED.next_level_at,
       acknowledged_by = EXCLUDED.acknowledged_by, acknowledged_at = EXCLUDED.acknowledged_at,
       resolved_at = EXCLUDED.resolved_at, last_seq = EXCLUDED.last_seq
     WHERE e.last_seq < EXCLUDED.last_seq OR (e.last_seq = EXCLUDED.last_seq AND $6::boolean)`,
    [s.id, s.type, s.community, JSON.stringify(records), lastSeq, batch.resync === true]);
}

export interface EscalationFilter {
  level?: number;
  community?: string;
  caseType?: string;
  status?: string;
  scope: string[] | null;
  after: { level: number; since: string; caseId: string; number: number } | null;
  limit: number;
}

export interface EscalationListItem {
  caseId: string; caseType: string; number: number; community: string | null; reason: string; level: number; status: string;
  since: string; levelSince: string; nextLevelAt: string | null; acknowledgedBy: string | null; acknowledgedAt: string | null;
  resolvedAt: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Highest level first, then oldest; keyset-paginated on (level desc, since, case id, number). */
export async function listEscalations(pool: Pool, f: EscalationFilter): Promise<{ items: EscalationListItem[]; cursor: EscalationFilter['after'] }> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, ...vs: unknown[]) => {
    let i = values.length;
    values.push(...vs);
    where.push(sql.replace(/\?/g, () => `$${++i}`));
  };
  if (f.level !== undefined) add('level = ?', f.level);
  if (f.community) add('community = ?', f.community);
  if (f.caseType) add('case_type = ?', f.caseType);
  if (f.status) add('status = ?', f.status);
  if (f.scope) add('community = ANY (?::text[])', f.scope);
  // level descends, the rest ascends: (-level, since, case_id, number) > cursor
  if (f.after) add('(-level, since, case_id, number) > (?::int, ?::timestamptz, ?, ?::int)', -f.after.level, f.after.since, f.after.caseId, f.after.number);
  values.push(f.limit + 1);
  const { rows } = await pool.query(
    `SELECT case_id, case_type, number, community, reason, level, status, since, ${exactTimestamp('since')} AS since_exact, level_since,
       next_level_at, acknowledged_by, acknowledged_at, resolved_at
     FROM escalations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY level DESC, since, case_id, number LIMIT $${values.length}`, values);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      caseId: r.case_id, caseType: r.case_type, number: r.number, community: r.community, reason: r.reason, level: r.level,
      status: r.status, since: r.since.toISOString(), levelSince: r.level_since.toISOString(), nextLevelAt: iso(r.next_level_at),
      acknowledgedBy: r.acknowledged_by, acknowledgedAt: iso(r.acknowledged_at), resolvedAt: iso(r.resolved_at),
    })),
    cursor: rows.length > f.limit && last ? { level: last.level, since: last.since_exact, caseId: last.case_id, number: last.number } : null,
  };
}
