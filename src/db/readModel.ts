/** Writes to the case read model. Idempotent: a replayed or retried batch changes nothing. */
import type { Pool, PoolClient } from 'pg';
import type { CaseEventBatch } from '../domain/caseEvents';
import { checkBatchInstants } from './dataErrors';

/**
 * One statement, so it is atomic without an explicit transaction (which would block every
 * other connection on embedded Postgres): insert the events, skipping those already stored,
 * then move the case row forward only if this batch is newer than what it holds (or, for a
 * resync, as new), and bring the case's open deadlines in line with the snapshot likewise.
 */
const RECORD_BATCH_SQL = `
WITH input AS (
  SELECT $1::jsonb AS events, $2::jsonb AS s
), new_events AS (
  INSERT INTO case_events (case_id, seq, at, type, actor, data)
  SELECT (SELECT s->>'id' FROM input), (e->>'seq')::int, (e->>'at')::timestamptz, e->>'type', e->>'actor', coalesce(e->'data', '{}'::jsonb)
  FROM input, jsonb_array_elements(input.events) e
  ON CONFLICT (case_id, seq) DO NOTHING
  RETURNING seq
), upsert AS (
  INSERT INTO cases AS c (id, type, workflow_id, status, category, urgency, community, partner_id, overdue,
    reopen_count, dispatch_attempts, deadlines, details, satisfaction, outcome, created_at,
    acknowledged_at, completed_at, closed_at, last_seq, updated_at)
  SELECT s->>'id', s->>'type', s->>'workflowId', s->>'status', s->>'category', s->>'urgency', s->>'community',
    s->>'partnerId', (s->>'overdue')::boolean, (s->>'reopenCount')::int, (s->>'dispatchAttempts')::int,
    s->'deadlines', s->'details', (s->>'satisfaction')::smallint, s->>'outcome', (s->>'createdAt')::timestamptz,
    (s->>'acknowledgedAt')::timestamptz, (s->>'completedAt')::timestamptz, (s->>'closedAt')::timestamptz, $3::int, now()
  FROM input
  ON CONFLICT (id) DO UPDATE SET
    status = EXCLUDED.status, category = EXCLUDED.category, urgency = EXCLUDED.urgency, community = EXCLUDED.community,
    partner_id = EXCLUDED.partner_id, overdue = EXCLUDED.overdue, reopen_count = EXCLUDED.reopen_count,
    dispatch_attempts = EXCLUDED.dispatch_attempts, deadlines = EXCLUDED.deadlines, details = EXCLUDED.details,
    satisfaction = EXCLUDED.satisfaction, outcome = EXCLUDED.outcome, acknowledged_at = EXCLUDED.acknowledged_at,
    completed_at = EXCLUDED.completed_at, closed_at = EXCLUDED.closed_at, last_seq = EXCLUDED.last_seq, updated_at = now()
  WHERE c.last_seq < EXCLUDED.last_seq OR (c.last_seq = EXCLUDED.last_seq AND $4::boolean)
  RETURNING id
), tracked AS (
  -- the tracking code the API handed out, if its own write has not stored it already
  INSERT INTO tracking_codes (code, case_id, case_type)
  SELECT $5::text, s->>'id', s->>'type' FROM input WHERE $5::text IS NOT NULL
  ON CONFLICT DO NOTHING
), cleared AS (
  -- deadlines no longer open; the still-open ones are upserted below (disjoint rows)
  DELETE FROM case_deadlines d USING upsert, input
  WHERE d.case_id = upsert.id AND coalesce(jsonb_typeof(input.s->'deadlines'->d.kind), 'null') <> 'string'
)
INSERT INTO case_deadlines (case_id, kind, due_at, community)
SELECT upsert.id, kv.key, (kv.value #>> '{}')::timestamptz, input.s->>'community'
FROM upsert, input, jsonb_each(input.s->'deadlines') kv
WHERE jsonb_typeof(kv.value) = 'string'
ON CONFLICT (case_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at, community = EXCLUDED.community`;

export async function recordCaseEventBatch(pool: Pool | PoolClient, batch: CaseEventBatch): Promise<void> {
  if (batch.events.length === 0) return;
  checkBatchInstants(batch);
  const lastSeq = batch.events[batch.events.length - 1].seq;
  await pool.query(RECORD_BATCH_SQL, [JSON.stringify(batch.events), JSON.stringify(batch.snapshot), lastSeq, batch.resync === true, batch.trackingCode ?? null]);
}
