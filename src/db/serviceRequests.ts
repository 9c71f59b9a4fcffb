/** Read-model queries of resident requests (民生诉求). */
import type { Pool } from 'pg';
import type { ServiceRequestState } from '../domain/serviceRequest';

const iso = (v: Date | null) => (v ? v.toISOString() : null);

/** Rebuild the state from the read model when the workflow cannot be queried (closed long ago, or workers down). */
export async function serviceRequestFromReadModel(pool: Pool, caseId: string): Promise<ServiceRequestState | null> {
  const { rows } = await pool.query(`SELECT * FROM cases WHERE id = $1 AND type = 'service_request'`, [caseId]);
  const r = rows[0];
  if (!r) return null;
  const d = r.details ?? {};
  const dl = r.deadlines ?? {};
  return {
    id: r.id, caseType: 'service_request', status: r.status, category: r.category, urgency: r.urgency,
    channel: d.channel, description: d.description, resident: d.resident, assignedPartnerId: r.partner_id,
    currentOrderId: null, dispatchAttempts: r.dispatch_attempts, overdue: r.overdue, reopenCount: r.reopen_count,
    deadlines: { ack: dl.ack, fulfilment: dl.fulfilment, followUp: dl.follow_up, survey: dl.survey },
    extension: d.extension ?? null, completion: d.completion ?? null,
    survey: r.satisfaction != null ? { score: r.satisfaction, comment: null, at: iso(r.closed_at)! } : null,
    sla: d.sla ?? {}, createdAt: r.created_at.toISOString(), acknowledgedAt: iso(r.acknowledged_at),
    completedAt: iso(r.completed_at), closedAt: iso(r.closed_at), outcome: r.outcome, cancellation: d.cancellation ?? null,
    ...(d.escalations ? { escalations: d.escalations, onHold: d.onHold ?? null, held: d.held, provisionalDeadlines: d.provisionalDeadlines ?? [] } : {}),
  };
}

/** What an action's access check needs of the case row: its community, its partner and its status. */
export async function serviceRequestAccessRow(
  pool: Pool, caseId: string,
): Promise<{ community: string; partnerId: string | null; status: string } | null> {
  const { rows } = await pool.query<{ community: string; partner_id: string | null; status: string }>(
    `SELECT community, partner_id, status FROM cases WHERE id = $1 AND type = 'service_request'`, [caseId]);
  const row = rows[0];
  return row ? { community: row.community, partnerId: row.partner_id, status: row.status } : null;
}
