/** The read-model side of reconciliation: load one case as stored, and rewrite a case's whole timeline. */
import type { Pool } from 'pg';
import type { CaseEvent, CaseRowFields, CaseSnapshot } from '../domain/caseEvents';
import { recordCaseEventBatch } from './readModel';

/** One case as Postgres holds it (migration 001 columns, plus what the checks count). */
export interface StoredCase {
  row: (CaseRowFields & {
    deadlines: Record<string, unknown>;
    details: Record<string, unknown>;
    lastSeq: number;
  }) | null;
  /** Distinct seqs stored in case_events, 1..n when complete. */
  eventCount: number;
  /** case_deadlines rows by kind, ISO due time. */
  deadlineRows: Record<string, string>;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function loadStoredCase(pool: Pool, caseId: string): Promise<StoredCase> {
  const { rows } = await pool.query(
    `SELECT c.*, (SELECT count(*)::int FROM case_events e WHERE e.case_id = k.id) AS event_count,
       (SELECT coalesce(jsonb_object_agg(d.kind, d.due_at), '{}'::jsonb) FROM case_deadlines d WHERE d.case_id = k.id) AS deadline_rows
     FROM (SELECT $1::text AS id) k LEFT JOIN cases c ON c.id = k.id`, [caseId]);
  const r = rows[0];
  return {
    eventCount: r.event_count,
    deadlineRows: r.deadline_rows,
    row: r.id === null ? null : {
      status: r.status, category: r.category, urgency: r.urgency, community: r.community, partnerId: r.partner_id,
      overdue: r.overdue, reopenCount: r.reopen_count, dispatchAttempts: r.dispatch_attempts, deadlines: r.deadlines,
      details: r.details, satisfaction: r.satisfaction, outcome: r.outcome, createdAt: r.created_at.toISOString(),
      acknowledgedAt: iso(r.acknowledged_at), completedAt: iso(r.completed_at), closedAt: iso(r.closed_at), lastSeq: r.last_seq,
    },
  };
}

/**
 * Rewrite a case from its full timeline and final snapshot, through the same idempotent
 * batch statement the workflows' activity uses (as a resync, so an equal last seq is
 * rewritten too). For closed workflows only: a running one re-sends its own timeline.
 */
export async function rewriteCase(pool: Pool, events: CaseEvent[], snapshot: CaseSnapshot, chunk = 200): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    await recordCaseEventBatch(pool, { events: events.slice(i, i + chunk), snapshot, resync: true });
  }
}
