/**
 * The summary report's all-time measures from the rollups of migration 070, which a trigger
 * on `cases` keeps in step with every case row write. Two statements over rows keyed by
 * (grouping, group, community, type, status | measure, bucket), so the cost follows the
 * number of groups and histogram buckets, not the number of cases.
 *
 * Medians and p90s are percentile_cont (linear interpolation between the two nearest
 * ranks) over the histograms, each rank valued at its bucket's lower edge below 64 s
 * (buckets 1 s wide) and at its bucket's midpoint above (buckets at most 1/32 of their lower
 * edge wide). So a figure is off by less than 1 s below 64 s (exact for whole seconds) and
 * by less than 1/64 (1.6%) of itself above (docs/supervision.md).
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
  SELECT group_key AS key, measure, array_lower(counts, 1) AS lo, array_to_string(counts, ',', '0') AS counts
  FROM report_histogram ${where}`;

function whereClause(f: SummaryFilter): { sql: string; values: unknown[] } {
  const values: unknown[] = [f.groupBy];
  const where = ['kind = $1'];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.type) add('type = ?', f.type);
  if (f.community) add('community = ?', f.community);
  if (f.scope) add('community = ANY (?::text[])', f.scope);
  return { sql: `WHERE ${where.join(' AND ')}`, values };
}

/** Buckets below -OFFSET (durations under -64 s: clock errors) count in the lowest, those past 2^32 s in the highest. */
const OFFSET = 64;
const SIZE = OFFSET + 64 + 32 * 26;

/** Counts per bucket of one measure, merged over rollup rows; index = bucket + OFFSET. */
class Histogram {
  readonly counts = new Float64Array(SIZE);
  count = 0;
  lo = SIZE;
  hi = -1;
  add(bucket: number, n: number) {
    const at = Math.min(SIZE - 1, Math.max(0, bucket + OFFSET));
    this.counts[at] += n;
    this.count += n;
    if (at < this.lo) this.lo = at;
    if (at > this.hi) this.hi = at;
  }
}

/** The value a bucket stands for: its lower edge below 64 s (whole seconds exact), else its midpoint. */
export function bucketValue(b: number): number {
  if (b < 64) return b;
  const e = 6 + Math.floor((b - 64) / 32);
  const s = (b - 64) % 32;
  return 2 ** e * (1 + (s + 0.5) / 32);
}

/** percentile_cont over a histogram, each duration taken as its bucket's value; one pass for all ranks. */
function histogramPercentiles(h: Histogram | undefined, ps: number[]): number[] | null {
  if (!h || h.count <= 0) return null;
  const positions = ps.map((p) => p * (h.count - 1));
  const ranks = [...new Set(positions.flatMap((pos) => [Math.floor(pos), Math.ceil(pos)]))].sort((a, b) => a - b);
  const valueOf = new Map<number, number>();
  let seen = 0;
  let next = 0;
  for (let i = h.lo; i <= h.hi && next < ranks.length; i++) {
    seen += h.counts[i];
    while (next < ranks.length && ranks[next] < seen) valueOf.set(ranks[next++], bucketValue(i - OFFSET));
  }
  const last = bucketValue(h.hi - OFFSET);
  const at = (rank: number) => valueOf.get(rank) ?? last;
  return positions.map((pos) => {
    const lo = Math.floor(pos);
    return pos === lo ? at(lo) : at(lo) + (pos - lo) * (at(lo + 1) - at(lo));
  });
}

export async function rollupMeasureRows(pool: Pool, f: SummaryFilter): Promise<MeasureRow[]> {
  const { sql: where, values } = whereClause(f);
  const [measures, histogram] = await Promise.all([
    pool.query<MeasureRow>(ROLLUP_SQL(where), values),
    pool.query<{ key: string | null; measure: string; lo: number; counts: string }>(HISTOGRAM_SQL(where), values),
  ]);
  // histograms per group and overall, per measure
  const OVERALL = Symbol('overall');
  const byGroup = new Map<string | null | typeof OVERALL, Map<string, Histogram>>();
  const target = (group: string | null | typeof OVERALL, measure: string) => {
    let measures = byGroup.get(group);
    if (!measures) byGroup.set(group, (measures = new Map()));
    let h = measures.get(measure);
    if (!h) measures.set(measure, (h = new Histogram()));
    return h;
  };
  for (const r of histogram.rows) {
    const g = target(r.key, r.measure);
    const o = target(OVERALL, r.measure);
    // Parsed by hand: no string per element (a few hundred thousand digits per report).
    const text = r.counts;
    let bucket = r.lo;
    let n = 0;
    let negative = false;
    for (let i = 0; i <= text.length; i++) {
      const ch = i < text.length ? text.charCodeAt(i) : 44;
      if (ch === 44) {
        if (n !== 0) { const v = negative ? -n : n; g.add(bucket, v); o.add(bucket, v); }
        bucket++;
        n = 0;
        negative = false;
      } else if (ch === 45) negative = true;
      else n = n * 10 + (ch - 48);
    }
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
