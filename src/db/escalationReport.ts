/**
 * The clocks' part of the summary report (docs/sla-clocks.md): escalations of the cases in the
 * report's window by the level they reached and by status, the time to acknowledge them, and the
 * working time cases spent on hold. Same filter as the rest of the report (cases created in [from, to)),
 * for the whole window and for each group of the report's grouping (one statement each, with
 * GROUPING SETS, so the groups and the total come from one snapshot).
 */
import type { Pool } from 'pg';
import type { ReportGrouping } from '../domain/supervision';
import { rollupHolds } from './reportRollups';
import { type SummaryFilter, whereClause } from './reports';

export interface ClockFigures {
  escalations: {
    total: number;
    byLevel: Record<'1' | '2' | '3', number>;
    byStatus: Record<'open' | 'acknowledged' | 'resolved', number>;
    /** Seconds from the escalation's start to its acknowledgement, over those acknowledged. */
    timeToAcknowledge: { cases: number; median: number | null; p90: number | null };
  };
  holds: { cases: number; holds: number; workingSeconds: number };
}

/** The whole window's figures, and `group(key)`: a group's (zeros for a group without escalations or holds). */
export interface ClockReport extends ClockFigures {
  group(key: string | null): ClockFigures;
}

/** The column a report group is keyed by (as the summary groups its cases: src/db/reports.ts). */
const GROUP_COLUMN: Record<ReportGrouping, string> = { partner: 'partner_id', category: 'category', community: 'community' };

const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
const groupKey = (key: string | null) => (key === null ? 'null' : `k:${key}`);

interface EscalationRow {
  overall: boolean; key: string | null; total: number; l1: number; l2: number; l3: number;
  open: number; acknowledged: number; resolved: number; ack_cases: number; ack: number[] | null;
}
interface HoldRow { overall: boolean; key: string | null; cases: number; holds: number; seconds: number }

const escalationFigures = (e: EscalationRow | undefined): ClockFigures['escalations'] => ({
  total: e?.total ?? 0, byLevel: { 1: e?.l1 ?? 0, 2: e?.l2 ?? 0, 3: e?.l3 ?? 0 },
  byStatus: { open: e?.open ?? 0, acknowledged: e?.acknowledged ?? 0, resolved: e?.resolved ?? 0 },
  timeToAcknowledge: { cases: e?.ack_cases ?? 0, median: round(e?.ack?.[0] ?? null), p90: round(e?.ack?.[1] ?? null) },
});
const holdFigures = (h: HoldRow | undefined): ClockFigures['holds'] => ({
  cases: h?.cases ?? 0, holds: h?.holds ?? 0, workingSeconds: round(h?.seconds ?? null) ?? 0,
});

export async function clockReport(pool: Pool, f: SummaryFilter): Promise<ClockReport> {
  const { sql, values } = whereClause(f);
  const column = GROUP_COLUMN[f.groupBy];
  const [{ rows: escalations }, { rows: holds }] = await Promise.all([
    pool.query<EscalationRow>(
      `WITH c AS (SELECT id, ${column} AS key FROM cases ${sql})
       SELECT grouping(c.key) = 1 AS overall, c.key, count(*)::int AS total,
         count(*) FILTER (WHERE e.level = 1)::int AS l1, count(*) FILTER (WHERE e.level = 2)::int AS l2, count(*) FILTER (WHERE e.level = 3)::int AS l3,
         count(*) FILTER (WHERE e.status = 'open')::int AS open, count(*) FILTER (WHERE e.status = 'acknowledged')::int AS acknowledged,
         count(*) FILTER (WHERE e.status = 'resolved')::int AS resolved,
         count(e.acknowledged_at)::int AS ack_cases,
         percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM e.acknowledged_at - e.since)) FILTER (WHERE e.acknowledged_at IS NOT NULL) AS ack
       FROM escalations e JOIN c ON c.id = e.case_id
       GROUP BY GROUPING SETS ((c.key), ())`, values),
    // All time (no from/to): the rollups of migration 095 hold these, per group, instead of a pass
    // over every case. A window: its held cases only, off migration 095's partial index (same
    // guarded reading of details.held).
    !f.from && !f.to ? rollupHolds(pool, f) : pool.query<HoldRow>(
      `SELECT grouping(${column}) = 1 AS overall, ${column} AS key,
         count(*)::int AS cases, coalesce(sum(report_held_count(details)), 0)::int AS holds,
         coalesce(sum(report_held_ms(details)), 0)::float8 / 1000 AS seconds
       FROM cases ${sql ? `${sql} AND` : 'WHERE'} report_held_count(details) > 0
       GROUP BY GROUPING SETS ((${column}), ())`, values),
  ]);
  const byKey = <R extends { overall: boolean; key: string | null }>(rows: R[]) =>
    new Map(rows.filter((r) => !r.overall).map((r) => [groupKey(r.key), r]));
  const escalationsByGroup = byKey(escalations);
  const holdsByGroup = byKey(holds);
  return {
    // The () grouping set yields its row even when nothing matches.
    escalations: escalationFigures(escalations.find((r) => r.overall)),
    holds: holdFigures(holds.find((r) => r.overall)),
    group: (key) => ({
      escalations: escalationFigures(escalationsByGroup.get(groupKey(key))),
      holds: holdFigures(holdsByGroup.get(groupKey(key))),
    }),
  };
}
