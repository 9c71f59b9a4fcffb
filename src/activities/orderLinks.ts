/** `links.order` of a partner webhook: the order link of the order the event is about. */
import type { Pool } from 'pg';
import { issueOrderLink, type OrderLinkKind } from '../db/orderLinks';
import type { WebhookDelivery } from './webhooks';

/** Events about an order the partner can still act on; notices and withdrawals carry no link. */
const NO_LINK_EVENTS = new Set(['order.withdrawn', 'case.notice']);
const VISIT_LINK_EVENTS = new Set(['visit.scheduled', 'visit.late']);

function kindOf(d: WebhookDelivery): OrderLinkKind | null {
  if (NO_LINK_EVENTS.has(d.event)) return null;
  if (d.caseType === 'service_request') return 'service_order';
  if (d.caseType === 'registration') return 'review';
  // A visit the partner still has to make: scheduled or late (missed and cancelled ones are over; plan.* events are about the plan).
  if (d.caseType === 'care_plan' && VISIT_LINK_EVENTS.has(d.event)) return 'visit';
  return null;
}

export function orderLinkOfDelivery(pool: Pool, opts: { secret: Buffer; baseUrl: string }) {
  return async (d: WebhookDelivery): Promise<string | null> => {
    const kind = kindOf(d);
    if (!kind) return null;
    const { token } = await issueOrderLink(pool, opts.secret, { kind, caseId: d.caseId, orderId: d.orderId, partnerId: d.partnerId });
    return `${opts.baseUrl}/p/${token}`;
  };
}
