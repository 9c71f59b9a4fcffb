/**
 * `GET /v1/reports/summary`: the measures of DOMAIN.md per partner, category or community,
 * over the cases created in [from, to). Definitions: docs/supervision.md.
 *
 * Two statements: the measures (one GROUPING SETS scan gives every group and the overall
 * row; percentile_cont computes medians and p90s in Postgres), and counts by status.
 */
import type { Pool } from 'pg';
import type { ReportGrouping } from '../domain/supervision';

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

function whereClause(f: SummaryFilter): { sql: string; values: unknown[] } {
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

const measuresSql = (group: string, where: string) => `
  SELECT grouping(${group}) = 1 AS overall, ${group} AS key,
    count(*)::int AS total,
    count(ack_seconds)::int AS acknowledged, ${percentiles('ack_seconds')} AS ack,
    count(complete_seconds)::int AS completed, ${percentiles('complete_seconds')} AS complete,
    count(close_seconds)::int AS closed, ${percentiles('close_seconds')} AS close,
    count(*) FILTER (WHERE completed_at IS NOT NULL AND within_sla)::int AS inside_sla,
    count(*) FILTER (WHERE completed_at IS NOT NULL AND within_sla IS NOT NULL)::int AS sla_judged,
    count(*) FILTER (WHERE type = 'service_request' AND reopen_count > 0)::int AS reopened,
    count(*) FILTER (WHERE type = 'service_request')::int AS service_requests,
    avg(satisfaction)::float8 AS mean_satisfaction,
    count(satisfaction)::int AS answered,
    count(*) FILTER (WHERE satisfaction IS NOT NULL OR outcome = 'no_response')::int AS surveys_due,
    coalesce(sum(hours_spent), 0)::float8 AS service_hours,
    count(same_day)::int AS certified,
    count(*) FILTER (WHERE same_day)::int AS same_day,
    (percentile_cont(0.5) WITHIN GROUP (ORDER BY time_to_certificate_ms) FILTER (WHERE time_to_certificate_ms IS NOT NULL) / 1000)::float8 AS median_ttc
  FROM cases ${where}
  GROUP BY GROUPING SETS ((${group}), ())`;

const ratio = (n: number, d: number) => (d > 0 ? round(n / d, 4) : null);
const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const maybe = (v: number | null) => (v === null ? null : round(v));

function durationStats(count: number, p: number[] | null): DurationStats {
  return { cases: count, median: p ? maybe(p[0]) : null, p90: p ? maybe(p[1]) : null };
}

/** One row of the measures statement (column aliases of measuresSql). */
interface MeasureRow {
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
}

function measures(r: MeasureRow, byStatus: Record<string, number>): SummaryMeasures {
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

export async function summarize(pool: Pool, f: SummaryFilter): Promise<Summary> {
  const group = GROUP_COLUMN[f.groupBy];
  const { sql: where, values } = whereClause(f);
  const [metricRows, statusRows] = await Promise.all([
    pool.query<MeasureRow>(measuresSql(group, where), values),
    pool.query<{ key: string | null; status: string; n: number }>(
      `SELECT ${group} AS key, status, count(*)::int AS n FROM cases ${where} GROUP BY 1, 2`, values),
  ]);
  const statusByKey = new Map<string | null, Record<string, number>>();
  const overallStatus: Record<string, number> = {};
  for (const { key, status, n } of statusRows.rows) {
    const counts = statusByKey.get(key) ?? {};
    counts[status] = n;
    statusByKey.set(key, counts);
    overallStatus[status] = (overallStatus[status] ?? 0) + n;
  }
  const labels = f.groupBy === 'partner'
    ? await partnerNames(pool, metricRows.rows.flatMap((r) => (r.key === null ? [] : [r.key])))
    : new Map<string, string>();
  const groups: SummaryGroup[] = [];
  let overall: SummaryMeasures | null = null;
  for (const r of metricRows.rows) {
    if (r.overall) overall = measures(r, overallStatus);
    else groups.push({ key: r.key, label: (r.key !== null && labels.get(r.key)) || r.key, ...measures(r, statusByKey.get(r.key) ?? {}) });
  }
  groups.sort((a, b) => b.total - a.total || String(a.key).localeCompare(String(b.key)));
  return {
    groupBy: f.groupBy, from: f.from ?? null, to: f.to ?? null, groups,
    // No case in range: GROUPING SETS still yields the () row, so this only guards the types.
    overall: overall ?? measures(EMPTY_ROW, {}),
  };
}

async function partnerNames(pool: Pool, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<{ id: string; name: string }>('SELECT id, name FROM partners WHERE id = ANY ($1::text[])', [ids]);
  return new Map(rows.map((r) => [r.id, r.name]));
}

const EMPTY_ROW: MeasureRow = {
  overall: true, key: null,
  total: 0, acknowledged: 0, ack: null, completed: 0, complete: null, closed: 0, close: null, inside_sla: 0, sla_judged: 0,
  reopened: 0, service_requests: 0, mean_satisfaction: null, answered: 0, surveys_due: 0, service_hours: 0, certified: 0,
  same_day: 0, median_ttc: null,
};
