import type { Pool } from 'pg';

export interface PartnerSelectionCriteria {
  caseId: string;
  category: string;
  community: string;
  grid: string | null;
  excludePartnerIds: string[];
}

export interface PartnerCandidate {
  partnerId: string;
  name: string;
  openOrders: number;
}

/**
 * The best partner for a case (docs/domain.md, 派单): active, serves the category, covers the
 * community (and the grid, when both the resident and the partner name grids), below its
 * capacity of open orders. Ties: fewest open orders, then best mean satisfaction, then
 * the longest since its last dispatch. Marks the chosen partner's last dispatch in the
 * same statement so concurrent dispatches spread out.
 */
const SELECT_PARTNER_SQL = `
WITH candidates AS (
  SELECT p.id, p.name, p.capacity, p.last_dispatched_at,
    (SELECT count(*) FROM cases c WHERE c.partner_id = p.id AND c.status IN ('awaiting_ack', 'in_progress'))::int AS open_orders,
    (SELECT avg(c.satisfaction) FROM cases c WHERE c.partner_id = p.id AND c.satisfaction IS NOT NULL) AS mean_satisfaction
  FROM partners p
  WHERE p.active
    AND $1 = ANY (p.categories)
    AND $2 = ANY (p.communities)
    AND ($3::text IS NULL OR cardinality(p.grids) = 0 OR $3 = ANY (p.grids))
    AND NOT (p.id = ANY ($4::text[]))
), best AS (
  SELECT * FROM candidates WHERE open_orders < capacity
  ORDER BY open_orders ASC, mean_satisfaction DESC NULLS LAST, last_dispatched_at ASC NULLS FIRST, id
  LIMIT 1
)
UPDATE partners p SET last_dispatched_at = now()
FROM best WHERE p.id = best.id
RETURNING best.id AS "partnerId", best.name, best.open_orders AS "openOrders"`;

export async function selectBestPartner(pool: Pool, c: PartnerSelectionCriteria): Promise<PartnerCandidate | null> {
  const { rows } = await pool.query<PartnerCandidate>(SELECT_PARTNER_SQL, [c.category, c.community, c.grid, c.excludePartnerIds]);
  return rows[0] ?? null;
}
