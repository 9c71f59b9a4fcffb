/**
 * The summary report's all-time measures from the rollups of migrations 070 and 095, which a
 * trigger on `cases` keeps in step with every case row write. Two statements: the counts over
 * rows keyed by (grouping, group, community, type, status), and the duration histograms, one
 * array of bucket counts per (grouping, group, community, type, measure), or per (grouping,
 * group, measure) from `report_histogram_total` when the report has no community, type or scope
 * filter. So the cost follows the number of groups and histogram buckets, not the number of cases.
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
  SELECT group_key AS key, measure, array_lower(counts, 1) AS lo, array_upper(counts, 1) AS hi, array_to_string(counts, ',', '0') AS counts
  FROM report_histogram ${where}`;

/** Without a community or type filter the totals over community and type serve (migration 095): far fewer arrays. */
const TOTAL_HISTOGRAM_SQL = `
  SELECT group_key AS key, measure, array_lower(counts, 1) AS lo, array_upper(counts, 1) AS hi, array_to_string(counts, ',', '0') AS counts
  FROM report_histogram_total WHERE kind = $1`;

/** Whether the report's filter lets it read report_histogram_total (no community, type or scope). */
export const readsHistogramTotals = (f: SummaryFilter) => !f.type && !f.community && !f.scope;

function whereClause(f: SummaryFilter): { sql: string; values: unknown[] } {
  const values: unknown[] = [f.groupBy];
  const where = ['kind = $1'];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.type) add('type = ?', f.type);
  if (f.community) add('community = ?', f.community);
  if (f.scope) add('community = ANY (?::text[])', f.scope);
  return { sql: `WHERE ${where.join(' AND ')}`, values };
}

/** Buckets below MIN_BUCKET (durations under -64 s: clock errors) count in the lowest, those past 2^32 s in the highest. */
const MIN_BUCKET = -64;
const MAX_BUCKET = 64 + 32 * 26 - 1;
const MEASURES = ['ack', 'complete', 'close', 'ttc'] as const;

/** The value a bucket stands for: its lower edge below 64 s (whole seconds exact), else its midpoint. */
export function bucketValue(b: number): number {
  if (b < 64) return b;
  const e = 6 + Math.floor((b - 64) / 32);
  const s = (b - 64) % 32;
  return 2 ** e * (1 + (s + 0.5) / 32);
}

/**
 * percentile_cont at 0.5 and 0.9 over one histogram (`span` bucket counts from bucket `lo`, `total`
 * durations), each duration taken as its bucket's value; one pass for the four ranks.
 */
function medianAndP90(counts: Float64Array, span: number, lo: number, total: number, from = 0, to = span - 1): number[] | null {
  if (total <= 0) return null;
  const positions = [0.5 * (total - 1), 0.9 * (total - 1)];
  const ranks = [Math.floor(positions[0]), Math.ceil(positions[0]), Math.floor(positions[1]), Math.ceil(positions[1])];
  const values = [NaN, NaN, NaN, NaN];
  let seen = 0;
  let next = 0;
  for (let i = from; i <= to && next < 4; i++) {
    seen += counts[i];
    while (next < 4 && ranks[next] < seen) values[next++] = bucketValue(lo + i);
  }
  if (next < 4) {
    // Ranks past the counted durations (only with negative counts): the highest bucket's value.
    let last = NaN;
    for (let i = to; i >= from; i--) if (counts[i] !== 0) { last = bucketValue(lo + i); break; }
    for (; next < 4; next++) values[next] = last;
  }
  return positions.map((pos, k) => (pos === ranks[2 * k] ? values[2 * k] : values[2 * k] + (pos - ranks[2 * k]) * (values[2 * k + 1] - values[2 * k])));
}

interface HistogramRow { key: string | null; measure: string; lo: number; hi: number; counts: string }

/**
 * Add one row's counts (`array_to_string` text, bucket `row.lo` first) into `into` (bucket `lo`
 * at index 0; buckets outside [lo, lo + span) count in the first or last). Parsed by hand: no
 * string per element (a few hundred thousand digits per report). Returns the row's total.
 */
function addCounts(row: HistogramRow, into: Float64Array, lo: number, span: number): number {
  const text = row.counts;
  const last = span - 1;
  let at = row.lo - lo;
  let n = 0;
  let negative = false;
  let total = 0;
  for (let i = 0; i <= text.length; i++) {
    const ch = i < text.length ? text.charCodeAt(i) : 44;
    if (ch === 44) {
      if (n !== 0) {
        const v = negative ? -n : n;
        into[at < 0 ? 0 : at > last ? last : at] += v;
        total += v;
      }
      at++;
      n = 0;
      negative = false;
    } else if (ch === 45) negative = true;
    else n = n * 10 + (ch - 48);
  }
  return total;
}

export async function rollupMeasureRows(pool: Pool, f: SummaryFilter, totals = readsHistogramTotals(f)): Promise<MeasureRow[]> {
  const { sql: where, values } = whereClause(f);
  if (totals && !readsHistogramTotals(f)) throw new Error('the histogram totals hold reports without a community or type filter only');
  const [measures, histogram] = await Promise.all([
    pool.query<MeasureRow>(ROLLUP_SQL(where), values),
    pool.query<HistogramRow>(totals ? TOTAL_HISTOGRAM_SQL : HISTOGRAM_SQL(where), totals ? [f.groupBy] : values),
  ]);
  // One group's histogram of one measure at a time, in a scratch array over the buckets any row
  // uses, then its median and p90; the overall histograms (one per measure) add every row. No
  // object per histogram: the merge was most of the report's time at 1M cases (docs/supervision.md).
  let lo = MAX_BUCKET;
  let hi = MIN_BUCKET;
  for (const r of histogram.rows) {
    if (r.lo < lo) lo = r.lo;
    if (r.hi > hi) hi = r.hi;
  }
  lo = Math.max(MIN_BUCKET, lo);
  const span = Math.max(1, Math.min(MAX_BUCKET, hi) - lo + 1);
  // per measure, the rows of each group (null: no partner / community)
  const rowsOf = MEASURES.map(() => new Map<string | null, HistogramRow[]>());
  for (const r of histogram.rows) {
    const m = MEASURES.indexOf(r.measure as (typeof MEASURES)[number]);
    if (m < 0) continue;
    const list = rowsOf[m].get(r.key);
    if (list) list.push(r); else rowsOf[m].set(r.key, [r]);
  }
  const scratch = new Float64Array(span);
  const overall = MEASURES.map(() => ({ counts: new Float64Array(span), total: 0 }));
  const percentiles = MEASURES.map(() => new Map<string | null, number[] | null>());
  for (let m = 0; m < MEASURES.length; m++) for (const [key, rows] of rowsOf[m]) {
    // the buckets these rows use (clamped into the scratch array like their counts)
    let from = span - 1;
    let to = 0;
    for (const r of rows) {
      from = Math.min(from, Math.max(0, r.lo - lo));
      to = Math.max(to, Math.min(span - 1, r.hi - lo));
    }
    if (from > to) continue;
    scratch.fill(0, from, to + 1);
    let total = 0;
    for (const r of rows) total += addCounts(r, scratch, lo, span);
    const o = overall[m];
    const oc = o.counts;
    for (let i = from; i <= to; i++) oc[i] += scratch[i];
    o.total += total;
    percentiles[m].set(key, medianAndP90(scratch, span, lo, total, from, to));
  }
  const overallPercentiles = overall.map((o) => medianAndP90(o.counts, span, lo, o.total));
  // The rows are this call's own: filled in place (a spread of each was a fifth of the merge's time).
  for (const r of measures.rows) {
    const pair = (m: number) => (r.overall ? overallPercentiles[m] : percentiles[m].get(r.key) ?? null);
    r.ack = pair(0);
    r.complete = pair(1);
    r.close = pair(2);
    r.median_ttc = pair(3)?.[0] ?? null;
  }
  return measures.rows;
}

/**
 * The all-time `holds` figures of the report (src/db/escalationReport.ts, docs/sla-clocks.md) from
 * the rollups (migration 095): cases held at least once, holds, and the working seconds held, over
 * the report's filter. Every case is counted once per grouping, so the report's own grouping serves.
 */
export async function rollupHolds(pool: Pool, f: SummaryFilter): Promise<{ rows: { overall: boolean; key: string | null; cases: number; holds: number; seconds: number }[] }> {
  const { sql: where, values } = whereClause(f);
  return pool.query(
    `SELECT grouping(group_key) = 1 AS overall, group_key AS key,
       coalesce(sum(held_cases), 0)::int AS cases, coalesce(sum(holds), 0)::int AS holds,
       coalesce(sum(held_ms), 0)::float8 / 1000 AS seconds
     FROM report_rollup ${where}
     GROUP BY GROUPING SETS ((group_key), ())`, values);
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
      'SELECT (SELECT count(*) FROM report_rollup)::int AS r, (SELECT count(*) FROM report_histogram)::int + (SELECT count(*) FROM report_histogram_total)::int AS h');
    await client.query('COMMIT');
    return { rollupRows: rows[0].r, histogramRows: rows[0].h };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
