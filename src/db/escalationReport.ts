/**
 * The clocks' part of the summary report (docs/sla-clocks.md): escalations of the cases in the
 * report's window by the level they reached and by status, the time to acknowledge them, and the
 * working time cases spent on hold. Same filter as the rest of the report (cases created in [from, to)).
 */
import type { Pool } from 'pg';
import { rollupHolds } from './reportRollups';
import { type SummaryFilter, whereClause } from './reports';

export interface ClockReport {
  escalations: {
    total: number;
    byLevel: Record<'1' | '2' | '3', number>;
    byStatus: Record<'open' | 'acknowledged' | 'resolved', number>;
    /** Seconds from the escalation's start to its acknowledgement, over those acknowledged. */
    timeToAcknowledge: { cases: number; median: number | null; p90: number | null };
  };
  holds: { cases: number; holds: number; workingSeconds: number };
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

export async function clockReport(pool: Pool, f: SummaryFilter): Promise<ClockReport> {
  const { sql, values } = whereClause(f);
  const { rows: [e] } = await pool.query(
    `WITH c AS (SELECT id FROM cases ${sql})
     SELECT count(*)::int AS total,
       count(*) FILTER (WHERE level = 1)::int AS l1, count(*) FILTER (WHERE level = 2)::int AS l2, count(*) FILTER (WHERE level = 3)::int AS l3,
       count(*) FILTER (WHERE status = 'open')::int AS open, count(*) FILTER (WHERE status = 'acknowledged')::int AS acknowledged,
       count(*) FILTER (WHERE status = 'resolved')::int AS resolved,
       count(acknowledged_at)::int AS ack_cases,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - since)) FILTER (WHERE acknowledged_at IS NOT NULL) AS ack
     FROM escalations WHERE case_id IN (SELECT id FROM c)`, values);
  // All time (no from/to): the rollups of migration 095 hold these, instead of a pass over every case.
  // A window: its held cases only, off migration 095's partial index (same guarded reading of details.held).
  const h = !f.from && !f.to ? await rollupHolds(pool, f) : (await pool.query(
    `SELECT count(*)::int AS cases, coalesce(sum(report_held_count(details)), 0)::int AS holds,
       coalesce(sum(report_held_ms(details)), 0)::float8 / 1000 AS seconds
     FROM cases ${sql ? `${sql} AND` : 'WHERE'} report_held_count(details) > 0`, values)).rows[0];
  return {
    escalations: {
      total: e.total, byLevel: { 1: e.l1, 2: e.l2, 3: e.l3 },
      byStatus: { open: e.open, acknowledged: e.acknowledged, resolved: e.resolved },
      timeToAcknowledge: { cases: e.ack_cases, median: round(e.ack?.[0] ?? null), p90: round(e.ack?.[1] ?? null) },
    },
    holds: { cases: h.cases, holds: h.holds, workingSeconds: round(h.seconds) ?? 0 },
  };
}
