/**
 * `GET /v1/reports/summary`: the measures of docs/domain.md per partner, category or community,
 * over the cases created in [from, to). Definitions: docs/supervision.md.
 *
 * One statement, so groups and total come from one snapshot: GROUPING SETS gives every
 * group and the overall row in one pass over the grouping column's covering index, which
 * delivers the rows already in group order (migration 005); percentile_cont computes the
 * medians and p90s in Postgres.
 */
import type { Pool } from 'pg';
import { CASE_STATUSES, type ReportGrouping } from '../domain/supervision';
import { rollupMeasureRows } from './reportRollups';

export interface SummaryFilter {
  groupBy: ReportGrouping;
  from?: string;
  to?: string;
  type?: string;
  community?: string;
  scope: string[] | null;
}

/** Seconds from intake to a milestone, over the cases that reached it. */
export interface DurationStats {
  cases: number;
  median: number | null;
  p90: number | null;
}

export interface SummaryMeasures {
  total: number;
  byStatus: Record<string, number>;
  timeToAcknowledge: DurationStats;
  timeToComplete: DurationStats;
  timeToClose: DurationStats;
  /** Completed inside the SLA / completed (with an SLA verdict). */
  insideSlaShare: number | null;
  /** Service requests reopened at least once / service requests. */
  reopenRate: number | null;
  satisfaction: { mean: number | null; answered: number; due: number; responseRate: number | null };
  serviceHours: number;
  registration: { certified: number; sameDayShare: number | null; medianTimeToCertificate: number | null };
}

export interface SummaryGroup extends SummaryMeasures {
  key: string | null;
  /** A readable name: the partner's name when grouped by partner, else the key. */
  label: string | null;
}

export interface Summary {
  groupBy: ReportGrouping;
  from: string | null;
  to: string | null;
  groups: SummaryGroup[];
  overall: SummaryMeasures;
}

const GROUP_COLUMN: Record<ReportGrouping, string> = { partner: 'partner_id', category: 'category', community: 'community' };

/** Median and p90 of a stored duration column (migration 003), over the rows where it is set. */
const percentiles = (column: string) =>
  `percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ${column}) FILTER (WHERE ${column} IS NOT NULL)`;

export function whereClause(f: SummaryFilter): { sql: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.from) add('created_at >= ?::timestamptz', f.from);
  if (f.to) add('created_at < ?::timestamptz', f.to);
  if (f.type) add('type = ?', f.type);
  if (f.community) add('community = ?', f.community);
  if (f.scope) add('community = ANY (?::text[])', f.scope);
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', values };
}

/** Counts by status as columns: one pass, and the overall row sums them like every other measure. */
const statusCounts = CASE_STATUSES.map((st) => `count(*) FILTER (WHERE status = '${st}')::int AS "status:${st}"`).join(',\n    ');

const measuresSql = (group: string, where: string) => `
  SELECT grouping(${group}) = 1 AS overall, ${group} AS key,
    count(*)::int AS total,
    count(ack_seconds)::int AS acknowledged, ${percentiles('ack_seconds')} AS ack,
    count(complete_seconds)::int AS completed, ${percentiles('complete_seconds')} AS complete,
    count(close_seconds)::int AS closed, ${percentiles('close_seconds')} AS close,
    count(*) FILTER (WHERE complete_seconds IS NOT NULL AND within_sla)::int AS inside_sla,
    count(*) FILTER (WHERE complete_seconds IS NOT NULL AND within_sla IS NOT NULL)::int AS sla_judged,
    count(*) FILTER (WHERE type = 'service_request' AND reopen_count > 0)::int AS reopened,
    count(*) FILTER (WHERE type = 'service_request')::int AS service_requests,
    avg(satisfaction)::float8 AS mean_satisfaction,
    count(satisfaction)::int AS answered,
    count(*) FILTER (WHERE satisfaction IS NOT NULL OR outcome = 'no_response')::int AS surveys_due,
    coalesce(sum(hours_spent), 0)::float8 AS service_hours,
    count(same_day)::int AS certified,
    count(*) FILTER (WHERE same_day)::int AS same_day,
    (percentile_cont(0.5) WITHIN GROUP (ORDER BY time_to_certificate_ms) FILTER (WHERE time_to_certificate_ms IS NOT NULL) / 1000)::float8 AS median_ttc,
    ${statusCounts}
  FROM cases ${where}
  GROUP BY GROUPING SETS ((${group}), ())`;

const ratio = (n: number, d: number) => (d > 0 ? round(n / d, 4) : null);
const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const maybe = (v: number | null) => (v === null ? null : round(v));

function durationStats(count: number, p: number[] | null): DurationStats {
  return { cases: count, median: p ? maybe(p[0]) : null, p90: p ? maybe(p[1]) : null };
}

/** One row of the measures statement (column aliases of measuresSql), or its rollup equivalent. */
export interface MeasureRow {
  overall: boolean;
  key: string | null;
  total: number;
  acknowledged: number;
  ack: number[] | null;
  completed: number;
  complete: number[] | null;
  closed: number;
  close: number[] | null;
  inside_sla: number;
  sla_judged: number;
  reopened: number;
  service_requests: number;
  mean_satisfaction: number | null;
  answered: number;
  surveys_due: number;
  service_hours: number;
  certified: number;
  same_day: number;
  median_ttc: number | null;
  [statusCount: `status:${string}`]: number;
}

function measures(r: MeasureRow): SummaryMeasures {
  const byStatus: Record<string, number> = {};
  for (const st of CASE_STATUSES) if (r[`status:${st}`] > 0) byStatus[st] = r[`status:${st}`];
  return {
    total: r.total,
    byStatus,
    timeToAcknowledge: durationStats(r.acknowledged, r.ack),
    timeToComplete: durationStats(r.completed, r.complete),
    timeToClose: durationStats(r.closed, r.close),
    insideSlaShare: ratio(r.inside_sla, r.sla_judged),
    reopenRate: ratio(r.reopened, r.service_requests),
    satisfaction: {
      mean: r.mean_satisfaction === null ? null : round(r.mean_satisfaction, 2),
      answered: r.answered, due: r.surveys_due, responseRate: ratio(r.answered, r.surveys_due),
    },
    serviceHours: round(r.service_hours, 2),
    registration: { certified: r.certified, sameDayShare: ratio(r.same_day, r.certified), medianTimeToCertificate: maybe(r.median_ttc) },
  };
}

/**
 * Where the measures come from: `rollup` (migration 070, src/db/reportRollups.ts) costs in
 * proportion to the groups, `cases` sorts every case of the window. `auto` reads the rollups
 * for an all-time report (no from/to) and the cases for a window.
 */
export type SummarySource = 'auto' | 'rollup' | 'cases';

export async function summarize(pool: Pool, f: SummaryFilter, source: SummarySource = 'auto'): Promise<Summary> {
  const fromRollup = source === 'rollup' || (source === 'auto' && !f.from && !f.to);
  if (fromRollup && (f.from || f.to)) throw new Error('the report rollups hold all-time measures only');
  const rows = fromRollup ? await rollupMeasureRows(pool, f) : await caseMeasureRows(pool, f);
  return summaryOf(pool, f, rows);
}

async function caseMeasureRows(pool: Pool, f: SummaryFilter): Promise<MeasureRow[]> {
  const { sql: where, values } = whereClause(f);
  return (await pool.query<MeasureRow>(measuresSql(GROUP_COLUMN[f.groupBy], where), values)).rows;
}

async function summaryOf(pool: Pool, f: SummaryFilter, rows: MeasureRow[]): Promise<Summary> {
  const labels = f.groupBy === 'partner'
    ? await partnerNames(pool, rows.flatMap((r) => (r.overall || r.key === null ? [] : [r.key])))
    : new Map<string, string>();
  // A rollup row emptied by later transitions is kept (total 0) but is no group.
  const groups: SummaryGroup[] = rows.filter((r) => !r.overall && r.total > 0).map((r) => ({
    key: r.key, label: (r.key !== null && labels.get(r.key)) || r.key, ...measures(r),
  }));
  groups.sort((a, b) => b.total - a.total || String(a.key).localeCompare(String(b.key)));
  // The () grouping set yields its row even when no case matches.
  const overall = measures(rows.find((r) => r.overall)!);
  return { groupBy: f.groupBy, from: f.from ?? null, to: f.to ?? null, groups, overall };
}

async function partnerNames(pool: Pool, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<{ id: string; name: string }>('SELECT id, name FROM partners WHERE id = ANY ($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.name]));
}
