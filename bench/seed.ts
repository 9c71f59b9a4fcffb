/**
 * Seed the read model at supervision scale directly in Postgres: 100k cases (80% service
 * requests, 20% registrations) with 10 timeline events each (1M), a delivery attempt for
 * every notification event, and an open deadline for each open case. Pure generate_series
 * SQL, so it takes seconds; `random()` is seeded for repeatable data.
 *
 * Shapes follow what the workflows write (src/workflows/serviceRequest.ts snapshot()):
 * milestones, `details.completion.hoursSpent`, `details.fulfilmentBreached`, and for
 * registrations `details.timeToCertificateMs`, `sameDay`, `withinCompletionTarget`.
 */
import type { Pool } from 'pg';

export interface SeedOptions {
  cases: number;
  eventsPerCase: number;
  communities: number;
  partners: number;
}

export const DEFAULT_SEED: SeedOptions = { cases: 100_000, eventsPerCase: 10, communities: 50, partners: 200 };

/** Every bench case id starts with this, so a re-seed replaces only bench rows. */
export const BENCH_PREFIX = 'bench-';

const SR_OPEN = ['dispatching', 'awaiting_ack', 'in_progress', 'escalated', 'awaiting_follow_up', 'awaiting_survey'];
const REG_OPEN = ['awaiting_documents', 'in_review', 'issuing', 'awaiting_delivery', 'awaiting_survey'];
/** The deadline an open case of each status has running (escalated and dispatching have none). */
const DEADLINE_OF: Record<string, string> = {
  awaiting_ack: 'ack', in_progress: 'fulfilment', awaiting_follow_up: 'follow_up', awaiting_survey: 'survey',
  awaiting_documents: 'supplement', in_review: 'review',
};
const EVENT_TYPES = ['intake', 'dispatched', 'notification_delivered', 'accepted', 'progress', 'completed', 'follow_up', 'survey', 'closed', 'note'];

const sqlArray = (xs: readonly string[]) => `ARRAY[${xs.map((x) => `'${x}'`).join(',')}]`;

export async function seedSupervisionData(pool: Pool, opts: SeedOptions = DEFAULT_SEED): Promise<void> {
  const p = `'${BENCH_PREFIX}'`;
  await pool.query(`DELETE FROM case_deadlines WHERE case_id LIKE ${p} || '%'`);
  await pool.query(`DELETE FROM case_events WHERE case_id LIKE ${p} || '%'`);
  await pool.query(`DELETE FROM webhook_attempts WHERE case_id LIKE ${p} || '%'`);
  await pool.query(`DELETE FROM cases WHERE id LIKE ${p} || '%'`);
  await pool.query('SELECT setseed(0.42)');

  // One row per case: `t` draws the type, status and lifecycle stage; the columns derive from them.
  await pool.query(`
    INSERT INTO cases (id, type, workflow_id, status, category, urgency, community, partner_id, overdue, reopen_count,
      dispatch_attempts, deadlines, details, satisfaction, outcome, created_at, acknowledged_at, completed_at, closed_at, last_seq, updated_at)
    SELECT id, type, workflow_id, status, category, urgency, community, partner_id, overdue, reopen_count, dispatch_attempts,
      '{}'::jsonb, details, satisfaction, outcome, created_at,
      CASE WHEN stage >= 1 THEN created_at + ack_s * interval '1 second' END,
      CASE WHEN stage >= 2 THEN created_at + done_s * interval '1 second' END,
      CASE WHEN stage >= 3 THEN created_at + (done_s + close_s) * interval '1 second' END,
      ${opts.eventsPerCase}, now()
    FROM (
      SELECT ${p} || lpad(g::text, 7, '0') AS id, t.type,
        CASE t.type WHEN 'registration' THEN 'registration:' ELSE 'service-request:' END || ${p} || lpad(g::text, 7, '0') AS workflow_id,
        t.status, t.stage,
        CASE t.type WHEN 'registration' THEN (${sqlArray(['transfer', 'mortgage', 'first_registration', 'change', 'cancellation'])})[1 + floor(random() * 5)::int]
          ELSE (${sqlArray(['clothing', 'food', 'housing', 'transport', 'daily_goods', 'medical', 'culture', 'employment', 'hardship'])})[1 + floor(random() * 9)::int] END AS category,
        CASE WHEN t.type = 'service_request' THEN CASE WHEN random() < 0.2 THEN 'urgent' ELSE 'normal' END END AS urgency,
        '社区-' || lpad((1 + floor(random() * ${opts.communities}))::text, 2, '0') AS community,
        CASE WHEN t.type = 'service_request' AND t.status NOT IN ('dispatching', 'escalated')
          THEN 'bench-partner-' || (1 + floor(random() * ${opts.partners}))::int END AS partner_id,
        t.stage BETWEEN 1 AND 2 AND random() < 0.08 AS overdue,
        CASE WHEN t.type = 'service_request' AND random() < 0.04 THEN 1 ELSE 0 END AS reopen_count,
        CASE WHEN t.type = 'service_request' THEN 1 + floor(random() * 2)::int ELSE 0 END AS dispatch_attempts,
        CASE WHEN t.type = 'registration' THEN jsonb_build_object('timeToCertificateMs', t.ttc, 'completionTargetMs', 1200000,
            'withinCompletionTarget', t.ttc <= 1200000, 'sameDay', t.ttc < 8 * 3600000)
          ELSE jsonb_build_object('completion', CASE WHEN t.stage >= 2 THEN jsonb_build_object('hoursSpent', round((random() * 6)::numeric, 1)) END,
            'fulfilmentBreached', random() < 0.1) END AS details,
        CASE WHEN t.status = 'closed' AND random() < 0.7 THEN 1 + floor(random() * 5)::int END AS satisfaction,
        CASE WHEN t.status = 'closed' THEN 'satisfied' END AS outcome,
        now() - random() * interval '365 days' AS created_at,
        random() * 4 * 3600 AS ack_s, 3600 + random() * 3 * 86400 AS done_s, random() * 7 * 86400 AS close_s
      FROM generate_series(1, ${opts.cases}) g
      CROSS JOIN LATERAL (
        -- type first, then a status drawn from that type's lifecycle (about 70% closed)
        SELECT type, status, (600000 + d.w * 3 * 3600000)::bigint AS ttc,
          CASE WHEN status IN ('dispatching', 'awaiting_ack', 'awaiting_documents', 'escalated') THEN 0
               WHEN status IN ('in_progress', 'in_review') THEN 1
               WHEN status IN ('awaiting_follow_up', 'issuing', 'awaiting_delivery', 'awaiting_survey') THEN 2
               WHEN status IN ('cancelled', 'withdrawn') THEN 0 ELSE 3 END AS stage
        FROM (SELECT CASE WHEN g % 5 = 0 THEN 'registration' ELSE 'service_request' END AS type, random() AS u, random() AS v, random() AS w) d,
        LATERAL (SELECT CASE
          WHEN d.u < 0.70 THEN 'closed'
          WHEN d.u < 0.75 THEN CASE d.type WHEN 'registration' THEN 'withdrawn' ELSE 'cancelled' END
          WHEN d.type = 'registration' THEN (${sqlArray(REG_OPEN)})[1 + floor(d.v * ${REG_OPEN.length})::int]
          ELSE (${sqlArray(SR_OPEN)})[1 + floor(d.v * ${SR_OPEN.length})::int] END AS status) s
      ) t
    ) x`);

  // Closed registrations end satisfied or without an answer; cancelled/withdrawn cases are closed at once.
  await pool.query(`UPDATE cases SET closed_at = created_at + interval '2 hours' WHERE id LIKE ${p} || '%' AND status IN ('cancelled', 'withdrawn')`);
  await pool.query(`UPDATE cases SET outcome = 'no_response' WHERE id LIKE ${p} || '%' AND status = 'closed' AND satisfaction IS NULL`);

  // One deadline per open case that has a timer running: 1 in 5 already breached.
  const kindCase = Object.entries(DEADLINE_OF).map(([s, k]) => `WHEN '${s}' THEN '${k}'`).join(' ');
  await pool.query(`
    INSERT INTO case_deadlines (case_id, kind, due_at, community)
    SELECT id, CASE status ${kindCase} END, now() + (random() * 5 - 1) * interval '1 day', community
    FROM cases WHERE id LIKE ${p} || '%' AND status IN (${Object.keys(DEADLINE_OF).map((s) => `'${s}'`).join(',')})`);
  await pool.query(`
    UPDATE cases c SET deadlines = jsonb_build_object(d.kind, to_char(d.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    FROM case_deadlines d WHERE d.case_id = c.id AND c.id LIKE ${p} || '%'`);

  // The timeline: eventsPerCase events per case, one of them a notification with a delivery attempt.
  await pool.query(`
    INSERT INTO case_events (case_id, seq, at, type, actor, data)
    SELECT c.id, s, c.created_at + s * interval '10 minutes', (${sqlArray(EVENT_TYPES)})[1 + (s - 1) % ${EVENT_TYPES.length}],
      CASE WHEN s = 1 THEN 'staff:bench' ELSE 'system' END,
      CASE WHEN s = 3 THEN jsonb_build_object('event', 'order.dispatched', 'deliveryId', c.workflow_id || ':1', 'partnerId', c.partner_id)
           ELSE jsonb_build_object('note', 'step ' || s) END
    FROM cases c CROSS JOIN generate_series(1, ${opts.eventsPerCase}) s
    WHERE c.id LIKE ${p} || '%'`);
  await pool.query(`
    INSERT INTO webhook_attempts (delivery_id, attempt, case_id, partner_id, event, at, http_status)
    SELECT workflow_id || ':1', 1, id, coalesce(partner_id, 'bench-partner-1'), 'order.dispatched', created_at + interval '20 minutes', 200
    FROM cases WHERE id LIKE ${p} || '%'`);
  // VACUUM as autovacuum would on a settled table: statistics, and a visibility map for index-only scans.
  for (const table of ['cases', 'case_events', 'case_deadlines', 'webhook_attempts']) await pool.query(`VACUUM (ANALYZE) ${table}`);
}
