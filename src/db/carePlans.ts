/**
 * The care-plan visits in the read model (migration 045): written by the plan's workflow,
 * read by the visit list, the partner's roster and the care-hours report.
 */
import type { Pool } from 'pg';
import type { CareVisit, CareVisitRecord, VisitStatus } from '../domain/carePlan';
import { hoursOf } from '../domain/carePlan';
import { exactTimestamp } from './caseViews';

/**
 * One statement for a batch of visits. Idempotent and order-proof: a row is replaced only by
 * a newer revision of itself, so a retried activity, a replayed run or a write that arrives
 * after a later one (across continue-as-new) never loses or repeats anything.
 */
const UPSERT_VISITS_SQL = `
INSERT INTO care_plan_visits AS v (case_id, visit_id, visit_no, partner_id, community, due_at, status, late,
  planned_services, check_in_at, check_out_at, carer, location, services, note, duration_ms, cancel_reason, rev, updated_at)
SELECT r->>'caseId', r->>'visitId', (r->>'visitNo')::int, r->>'partnerId', r->>'community', (r->>'dueAt')::timestamptz,
  r->>'status', coalesce((r->>'late')::boolean, false),
  coalesce(ARRAY(SELECT jsonb_array_elements_text(r->'plannedServices')), '{}'),
  (r->>'checkInAt')::timestamptz, (r->>'checkOutAt')::timestamptz, r->>'carer',
  CASE WHEN jsonb_typeof(r->'location') IN ('object', 'string') THEN r->'location' END,
  CASE WHEN jsonb_typeof(r->'services') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(r->'services')) END,
  r->>'note', (r->>'durationMs')::bigint, r->>'cancelReason', (r->>'rev')::int, now()
FROM jsonb_array_elements($1::jsonb) r
ON CONFLICT (case_id, visit_id) DO UPDATE SET
  partner_id = EXCLUDED.partner_id, due_at = EXCLUDED.due_at, status = EXCLUDED.status, late = EXCLUDED.late,
  planned_services = EXCLUDED.planned_services, check_in_at = EXCLUDED.check_in_at, check_out_at = EXCLUDED.check_out_at,
  carer = EXCLUDED.carer, location = EXCLUDED.location, services = EXCLUDED.services, note = EXCLUDED.note,
  duration_ms = EXCLUDED.duration_ms, cancel_reason = EXCLUDED.cancel_reason, rev = EXCLUDED.rev, updated_at = now()
WHERE v.rev < EXCLUDED.rev`;

export async function upsertCareVisits(pool: Pool, visits: CareVisitRecord[]): Promise<void> {
  if (visits.length === 0) return;
  await pool.query(UPSERT_VISITS_SQL, [JSON.stringify(visits)]);
}

const COLUMN_NAMES = ['case_id', 'visit_id', 'visit_no', 'partner_id', 'community', 'due_at', 'status', 'late', 'planned_services',
  'check_in_at', 'check_out_at', 'carer', 'location', 'services', 'note', 'duration_ms', 'cancel_reason', 'rev'];
const visitColumns = (alias = '') =>
  [...COLUMN_NAMES.map((c) => `${alias}${c}`), `${exactTimestamp(`${alias}due_at`)} AS due_exact`].join(', ');
const VISIT_COLUMNS = visitColumns();

export interface VisitRow extends CareVisit { caseId: string; community: string; dueExact: string }

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function visitFromRow(r: Record<string, any>): VisitRow {
  const durationMs = r.duration_ms === null ? null : Number(r.duration_ms);
  return {
    caseId: r.case_id, visitId: r.visit_id, visitNo: r.visit_no, partnerId: r.partner_id, community: r.community,
    dueAt: r.due_at.toISOString(), dueExact: r.due_exact, status: r.status as VisitStatus, late: r.late,
    plannedServices: r.planned_services, checkInAt: iso(r.check_in_at), checkOutAt: iso(r.check_out_at), carer: r.carer,
    location: r.location, services: r.services, note: r.note, durationMs,
    hours: durationMs === null ? null : hoursOf(durationMs), cancelReason: r.cancel_reason, rev: r.rev,
  };
}

export async function getCareVisit(pool: Pool, caseId: string, visitId: string): Promise<VisitRow | null> {
  const { rows } = await pool.query(`SELECT ${VISIT_COLUMNS} FROM care_plan_visits WHERE case_id = $1 AND visit_id = $2`, [caseId, visitId]);
  return rows[0] ? visitFromRow(rows[0]) : null;
}

export interface VisitCursor { dueAt: string; visitNo: string }

/** One plan's visits, newest first (keyset on due_at, visit_no: index care_plan_visits_plan_due_idx). */
export async function listPlanVisits(
  pool: Pool, caseId: string, opts: { limit: number; before: VisitCursor | null; status?: VisitStatus },
): Promise<{ items: VisitRow[]; cursor: VisitCursor | null }> {
  const values: unknown[] = [caseId];
  const where = ['case_id = $1'];
  if (opts.status) { values.push(opts.status); where.push(`status = $${values.length}`); }
  if (opts.before) {
    values.push(opts.before.dueAt, opts.before.visitNo);
    where.push(`(due_at, visit_no) < ($${values.length - 1}::timestamptz, $${values.length}::bigint)`);
  }
  values.push(opts.limit + 1);
  const { rows } = await pool.query(
    `SELECT ${VISIT_COLUMNS} FROM care_plan_visits WHERE ${where.join(' AND ')}
     ORDER BY due_at DESC, visit_no DESC LIMIT $${values.length}`, values);
  return page(rows.map(visitFromRow), opts.limit, (v) => ({ dueAt: v.dueExact, visitNo: String(v.visitNo) }));
}

export interface RosterCursor { dueAt: string; caseId: string; visitNo: string }

/** A partner's visits due in [from, to), soonest first, with the plan's resident (the caller decides what to show of it). */
export async function listPartnerVisits(
  pool: Pool, partnerId: string, opts: { from: string; to: string; limit: number; after: RosterCursor | null },
): Promise<{ items: Array<VisitRow & { resident: Record<string, unknown> | null; planStatus: string | null }>; cursor: RosterCursor | null }> {
  const values: unknown[] = [partnerId, opts.from, opts.to];
  let keyset = '';
  if (opts.after) {
    values.push(opts.after.dueAt, opts.after.caseId, opts.after.visitNo);
    keyset = `AND (v.due_at, v.case_id, v.visit_no) > ($4::timestamptz, $5, $6::bigint)`;
  }
  values.push(opts.limit + 1);
  const { rows } = await pool.query(
    `SELECT ${visitColumns('v.')},
       c.details->'resident' AS resident, c.status AS plan_status
     FROM care_plan_visits v LEFT JOIN cases c ON c.id = v.case_id
     WHERE v.partner_id = $1 AND v.due_at >= $2::timestamptz AND v.due_at < $3::timestamptz ${keyset}
     ORDER BY v.due_at, v.case_id, v.visit_no LIMIT $${values.length}`, values);
  const items = rows.map((r) => ({ ...visitFromRow(r), resident: r.resident ?? null, planStatus: r.plan_status ?? null }));
  return page(items, opts.limit, (v) => ({ dueAt: v.dueExact, caseId: v.caseId, visitNo: String(v.visitNo) }));
}

function page<T, C>(rows: T[], limit: number, cursorOf: (row: T) => C): { items: T[]; cursor: C | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, cursor: rows.length > limit && last ? cursorOf(last) : null };
}

export const CARE_HOURS_GROUPINGS = ['partner', 'community', 'plan'] as const;
export type CareHoursGrouping = (typeof CARE_HOURS_GROUPINGS)[number];

export interface CareHoursRow {
  key: string;
  /** The partner's name when grouped by partner. */
  label: string | null;
  plans: number;
  visitsCompleted: number;
  visitsMissed: number;
  /** Completed without being late / (completed + missed); null when no visit was due. */
  onTimeShare: number | null;
  hours: number;
}

const GROUP_COLUMN: Record<CareHoursGrouping, string> = { partner: 'partner_id', community: 'community', plan: 'case_id' };

type CareHoursFilter = { groupBy: CareHoursGrouping; from?: string; to?: string; community?: string; scope: string[] | null };

/**
 * `GET /v1/reports/care-hours`: the visits due in [from, to), grouped, inside the caller's
 * communities. Hours are summed from exact milliseconds (check-out minus check-in).
 *
 * `source` 'rollup' (the API) reads care_hours_rollup (migration 086: one row per plan,
 * partner, community and year, with running totals over its sorted visits); 'visits' computes
 * the same over every visit row (the reference the rollup is tested against).
 */
export async function careHoursReport(
  pool: Pool, f: CareHoursFilter, source: 'rollup' | 'visits' = 'rollup',
): Promise<{ rows: CareHoursRow[]; overall: Omit<CareHoursRow, 'key' | 'label'> }> {
  const { rows } = await pool.query(source === 'rollup' ? rollupQuery(f) : visitsQuery(f), values(f));
  const labels = f.groupBy === 'partner' ? await partnerNames(pool, rows.filter((r) => !r.overall).map((r) => r.key)) : new Map<string, string>();
  const measures = (r: Record<string, any>) => ({
    plans: r.plans, visitsCompleted: r.completed, visitsMissed: r.missed,
    onTimeShare: r.completed + r.missed > 0 ? r.on_time / (r.completed + r.missed) : null,
    hours: hoursOf(r.duration_ms),
  });
  const overallRow = rows.find((r) => r.overall);
  return {
    rows: rows.filter((r) => !r.overall).map((r) => ({ key: r.key, label: labels.get(r.key) ?? null, ...measures(r) })),
    overall: overallRow ? measures(overallRow) : { plans: 0, visitsCompleted: 0, visitsMissed: 0, onTimeShare: null, hours: 0 },
  };
}

/** $1 from, $2 to, $3 community, $4 scope: each NULL when not given. */
const values = (f: CareHoursFilter) => [f.from ?? null, f.to ?? null, f.community ?? null, f.scope];
const COMMUNITY_FILTER = '($3::text IS NULL OR community = $3::text) AND ($4::text[] IS NULL OR community = ANY ($4::text[]))';

const TOTALS = `
       count(DISTINCT case_id)::int AS plans,
       coalesce(sum(completed), 0)::int AS completed, coalesce(sum(missed), 0)::int AS missed,
       coalesce(sum(on_time), 0)::int AS on_time,
       coalesce(sum(duration_ms), 0)::float8 AS duration_ms`;

/** Over every visit row due in the window. */
function visitsQuery(f: CareHoursFilter): string {
  const group = GROUP_COLUMN[f.groupBy];
  return `SELECT grouping(key) = 1 AS overall, key, ${TOTALS}
     FROM (SELECT ${group} AS key, case_id,
       (status = 'completed')::int AS completed, (status = 'missed')::int AS missed,
       (status = 'completed' AND NOT late)::int AS on_time,
       CASE WHEN status = 'completed' THEN duration_ms END AS duration_ms
       FROM care_plan_visits
       WHERE ($1::timestamptz IS NULL OR due_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR due_at < $2::timestamptz)
         AND ${COMMUNITY_FILTER}) v
     GROUP BY GROUPING SETS ((key), ())
     ORDER BY overall, key`;
}

/**
 * Over the rollup: per row, lo and hi = how many of its visits are due before from and before
 * to (width_bucket counts the elements <= its operand; timestamps are whole microseconds, so
 * "< t" is "<= t - 1 µs"); the window holds visits lo+1 .. hi, whose totals are the running
 * totals at hi minus those at lo (element 0 does not exist: NULL, taken as 0). Only the years
 * the window touches are read. OFFSET 0 keeps lo and hi computed once per row (a flattened
 * subquery would repeat the binary search in every expression that uses them); grouping and
 * counting plans under COLLATE "C" compares bytes (the same groups: both collations are
 * deterministic), and the rows come out in the report's order as before.
 */
function rollupQuery(f: CareHoursFilter): string {
  const group = GROUP_COLUMN[f.groupBy];
  const delta = (a: string) => `coalesce(${a}[hi], 0) - coalesce(${a}[lo], 0)`;
  return `SELECT overall, key, plans, completed, missed, on_time, duration_ms FROM (
     SELECT grouping(key) = 1 AS overall, key, ${TOTALS}
     FROM (SELECT key COLLATE "C" AS key, case_id COLLATE "C" AS case_id,
       ${delta('completed')} AS completed, ${delta('missed')} AS missed, ${delta('on_time')} AS on_time, ${delta('duration_ms')} AS duration_ms
       FROM (SELECT r.${group} AS key, r.case_id, r.completed, r.missed, r.on_time, r.duration_ms,
           CASE WHEN $1::timestamptz IS NULL THEN 0 ELSE width_bucket($1::timestamptz - interval '1 microsecond', r.due_at) END AS lo,
           CASE WHEN $2::timestamptz IS NULL THEN cardinality(r.due_at) ELSE width_bucket($2::timestamptz - interval '1 microsecond', r.due_at) END AS hi
         FROM care_hours_rollup r
         WHERE ($1::timestamptz IS NULL OR r.year >= care_hours_year($1::timestamptz))
           AND ($2::timestamptz IS NULL OR r.year <= care_hours_year($2::timestamptz))
           AND ${COMMUNITY_FILTER.replace(/community/g, 'r.community')}
         OFFSET 0) w
       WHERE hi > lo) v
     GROUP BY GROUPING SETS ((key), ())) g
     ORDER BY overall, key COLLATE "default"`;
}

/**
 * Rebuild care_hours_rollup from care_plan_visits (`npm run reconcile -- --rebuild-rollups`, the
 * bench seed). SHARE lock: visit writes wait until the rebuild commits, so none is lost.
 */
export async function rebuildCareHoursRollup(pool: Pool): Promise<{ rows: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE care_plan_visits IN SHARE MODE');
    await client.query('SELECT care_hours_rollup_rebuild()');
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM care_hours_rollup');
    await client.query('COMMIT');
    return { rows: rows[0].n };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function partnerNames(pool: Pool, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<{ id: string; name: string }>('SELECT id, name FROM partners WHERE id = ANY ($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.name]));
}

/**
 * Who may see a plan, from the read model: its community, its current partner, and whether
 * `partnerId` has any visit on it (a former partner still sees the visits it served).
 */
export async function carePlanAccess(pool: Pool, caseId: string, partnerId: string | null): Promise<{ community: string; partnerId: string; servedBy: boolean } | null> {
  const { rows } = await pool.query<{ community: string; partner_id: string; served_by: boolean }>(
    `SELECT c.community, c.partner_id,
       $2::text IS NOT NULL AND EXISTS (SELECT 1 FROM care_plan_visits v WHERE v.case_id = c.id AND v.partner_id = $2) AS served_by
     FROM cases c WHERE c.id = $1 AND c.type = 'care_plan'`, [caseId, partnerId]);
  const r = rows[0];
  return r ? { community: r.community, partnerId: r.partner_id, servedBy: r.served_by } : null;
}

/** The status of each linked service request (installations), from the read model. */
export async function caseStatuses(pool: Pool, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<{ id: string; status: string }>('SELECT id, status FROM cases WHERE id = ANY ($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.status]));
}
