import type { Pool } from 'pg';

/** How an order ends up, from the last order event in the timeline. */
export const ORDER_STATUS_BY_EVENT: Record<string, string> = {
  dispatched: 'offered',
  assigned: 'in_progress',
  accepted: 'in_progress',
  declined: 'declined',
  ack_timeout: 'timed_out',
  dispatch_failed: 'undeliverable',
  order_withdrawn: 'withdrawn',
  completed: 'completed',
};
export const ORDER_STATUSES = [...new Set(Object.values(ORDER_STATUS_BY_EVENT))];
const ORDER_EVENTS = Object.keys(ORDER_STATUS_BY_EVENT);

export interface PartnerOrder {
  orderId: string;
  caseId: string;
  caseType: string;
  status: string;
  offeredAt: string;
  updatedAt: string;
  category: string | null;
  urgency: string | null;
  community: string | null;
  caseStatus: string;
}

/**
 * A partner's orders, newest offer first. One order = the events of one orderId; its status
 * is given by the last of them (a timed-out order is then withdrawn, and so on).
 */
export async function listPartnerOrders(
  pool: Pool, partnerId: string, opts: { status?: string; limit: number; before?: { offeredAt: string; orderId: string } },
): Promise<PartnerOrder[]> {
  const { rows } = await pool.query(
    `WITH orders AS (
       SELECT e.case_id, e.data->>'orderId' AS order_id, min(e.at) AS offered_at, max(e.at) AS updated_at,
              (array_agg(e.type ORDER BY e.seq DESC))[1] AS last_event
         FROM case_events e
        WHERE e.data->>'partnerId' = $1 AND e.data ? 'orderId' AND e.type = ANY ($2::text[])
        GROUP BY e.case_id, e.data->>'orderId'
     )
     SELECT o.*, c.type AS case_type, c.category, c.urgency, c.community, c.status AS case_status
       FROM orders o JOIN cases c ON c.id = o.case_id
      WHERE ($3::timestamptz IS NULL OR (o.offered_at, o.order_id) < ($3::timestamptz, $4::text))
      ORDER BY o.offered_at DESC, o.order_id DESC`,
    [partnerId, ORDER_EVENTS, opts.before?.offeredAt ?? null, opts.before?.orderId ?? null]);
  const orders = rows.map((r) => ({
    orderId: r.order_id, caseId: r.case_id, caseType: r.case_type, status: ORDER_STATUS_BY_EVENT[r.last_event],
    offeredAt: r.offered_at.toISOString(), updatedAt: r.updated_at.toISOString(), category: r.category,
    urgency: r.urgency, community: r.community, caseStatus: r.case_status,
  }));
  const filtered = opts.status ? orders.filter((o) => o.status === opts.status) : orders;
  return filtered.slice(0, opts.limit + 1);
}
