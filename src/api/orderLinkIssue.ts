/** The order link of a case's current order, for staff to forward (GET /v1/service-requests/{id}). */
import type { Request } from 'express';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { issueOrderLink } from '../db/orderLinks';
import type { ServiceRequestState } from '../domain/serviceRequest';
import type { Principal } from './auth';
import { orderLinkSecret, orderLinkUrl } from './orderLinkSecret';

const OPEN_ORDER = ['awaiting_ack', 'in_progress'];

/** The address people reach this API by: PUBLIC_BASE_URL, else the address this request came to. */
export const requestBaseUrl = (config: Config, req: Request) => config.PUBLIC_BASE_URL ?? `${req.protocol}://${req.get('host')}`;

/** Staff, supervisors and admins see the link of an open order; partners never need it (they have the order already). */
export async function serviceOrderLinkFor(
  pool: Pool, config: Config, req: Request, p: Principal, s: ServiceRequestState,
): Promise<{ orderLink?: string | null; orderLinkExpiresAt?: string | null }> {
  if (p.role === 'partner') return {};
  if (!s.currentOrderId || !s.assignedPartnerId || !OPEN_ORDER.includes(s.status)) return { orderLink: null, orderLinkExpiresAt: null };
  const { token, expiresAt } = await issueOrderLink(pool, orderLinkSecret(config),
    { kind: 'service_order', caseId: s.id, orderId: s.currentOrderId, partnerId: s.assignedPartnerId });
  return { orderLink: orderLinkUrl(requestBaseUrl(config, req), token), orderLinkExpiresAt: expiresAt.toISOString() };
}
