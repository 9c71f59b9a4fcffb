/**
 * The summary report's all-time measures from the rollups of migration 070, which a trigger
 * on `cases` keeps in step with every case row write. Two statements over rows keyed by
 * (grouping, group, community, type, status | measure, bucket), so the cost follows the
 * number of groups and histogram buckets, not the number of cases.
 *
 * Medians and p90s are percentile_cont (linear interpolation between the two nearest
 * ranks) over the histograms, each rank valued at the mean of the durations in its bucket.
 * A bucket is 1 s wide below 64 s and at most 1/32 of its lower edge above, so a figure is
 * off by less than 1 s below 64 s and by less than 1/32 (3.1%) of itself above; exact when
 * no bucket holds two different durations (docs/supervision.md).
 */
import type { Pool } from 'pg';
import { CASE_STATUSES } from '../domain/supervision';
import type { MeasureRow, SummaryFilter } from './reports';

const num = (column: string, as: string) => `coalesce(sum(${column}), 0)::int AS ${as}`;
const statusCounts = CASE_STATUSES.map((st) => `coalesce(sum(cases) FILTER (WHERE status = '${st}'), 0)::int AS "status:${st}"`).join(',\n    ');

const ROLLUP_SQL = (where: string) => `
  SELECT grouping(group_key) = 1 AS overall, group_key AS key,
    ${num('cases', 'total')}, ${num('acknowledged', 'acknowledged')}, ${num('completed', 'completed')}, ${num('closed', 'closed')},
    ${num('inside_sla', 'inside_sla')}, ${num('sla_judged', 'sla_judged')}, ${num('reopened', 'reopened')},
    ${num('service_requests', 'service_requests')},
    (sum(satisfaction_sum)::float8 / nullif(sum(answered), 0)) AS mean_satisfaction,
    ${num('answered', 'answered')}, ${num('surveys_due', 'surveys_due')},
    coalesce(sum(service_hours), 0)::float8 AS service_hours, ${num('certified', 'certified')}, ${num('same_day', 'same_day')},
    ${statusCounts}
  FROM report_rollup ${where}
  GROUP BY GROUPING SETS ((group_key), ())`;

const HISTOGRAM_SQL = (where: string) => `
  SELECT group_key AS key, measure, bucket, sum(n)::int AS n, sum(total)::float8 AS total
  FROM report_histogram ${where}
  GROUP BY group_key, measure, bucket HAVING sum(n) > 0`;

function whereClause(f: SummaryFilter): { sql: string; values: unknown[] } {
  const values: unknown[] = [f.groupBy];
  const where = ['kind = $1'];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.type) add('type = ?', f.type);
  if (f.community) add('community = ?', f.community);
  if (f.scope) add('community = ANY (?::text[])', f.scope);
  return { sql: `WHERE ${where.join(' AND ')}`, values };
}

/** Buckets of one measure, merged over rollup rows: bucket -> [count, sum of durations]. */
type Histogram = Map<number, [number, number]>;

/** percentile_cont over a histogram, each value taken as its bucket's mean. */
export function histogramPercentiles(h: Histogram | undefined, ps: number[]): number[] | null {
  if (!h || h.size === 0) return null;
  const buckets = [...h.entries()].sort((a, b) => a[0] - b[0]).map(([, [n, total]]) => ({ n, mean: total / n }));
  const count = buckets.reduce((s, b) => s + b.n, 0);
  const valueAt = (rank: number) => {
    let seen = 0;
    for (const b of buckets) { seen += b.n; if (rank < seen) return b.mean; }
    return buckets[buckets.length - 1].mean;
  };
  return ps.map((p) => {
    const pos = p * (count - 1);
    const lo = Math.floor(pos);
    const low = valueAt(lo);
    return pos === lo ? low : low + (pos - lo) * (valueAt(lo + 1) - low);
  });
}

export async function rollupMeasureRows(pool: Pool, f: SummaryFilter): Promise<MeasureRow[]> {
  const { sql: where, values } = whereClause(f);
  const [measures, histogram] = await Promise.all([
    pool.query<MeasureRow>(ROLLUP_SQL(where), values),
    pool.query<{ key: string | null; measure: string; bucket: number; n: number; total: number }>(HISTOGRAM_SQL(where), values),
  ]);
  // histograms per group and overall, per measure
  const OVERALL = Symbol('overall');
  const byGroup = new Map<string | null | typeof OVERALL, Map<string, Histogram>>();
  const add = (group: string | null | typeof OVERALL, measure: string, bucket: number, n: number, total: number) => {
    let measures = byGroup.get(group);
    if (!measures) byGroup.set(group, (measures = new Map()));
    let h = measures.get(measure);
    if (!h) measures.set(measure, (h = new Map()));
    const cur = h.get(bucket);
    if (cur) { cur[0] += n; cur[1] += total; } else h.set(bucket, [n, total]);
  };
  for (const r of histogram.rows) {
    add(r.key, r.measure, r.bucket, r.n, r.total);
    add(OVERALL, r.measure, r.bucket, r.n, r.total);
  }
  return measures.rows.map((r) => {
    const h = byGroup.get(r.overall ? OVERALL : r.key);
    const pair = (m: string) => histogramPercentiles(h?.get(m), [0.5, 0.9]);
    return { ...r, ack: pair('ack'), complete: pair('complete'), close: pair('close'), median_ttc: histogramPercentiles(h?.get('ttc'), [0.5])?.[0] ?? null };
  });
}

/**
 * Rebuild the rollups from `cases` (`npm run reconcile -- --rebuild-rollups`, the bench seed).
 * SHARE lock: case writes wait until the rebuild commits, so none is counted twice or lost.
 */
export async function rebuildReportRollups(pool: Pool): Promise<{ rollupRows: number; histogramRows: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE cases IN SHARE MODE');
    await client.query('SELECT report_rollup_rebuild()');
    const { rows } = await client.query<{ r: number; h: number }>(
      'SELECT (SELECT count(*) FROM report_rollup)::int AS r, (SELECT count(*) FROM report_histogram)::int AS h');
    await client.query('COMMIT');
    return { rollupRows: rows[0].r, histogramRows: rows[0].h };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
