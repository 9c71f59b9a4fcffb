/**
 * Signed webhooks to partners from workflow code: each delivery gets an id stable across
 * retries (workflow id + step), and its outcome goes into the case timeline.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CaseActivities } from '../activities';
import type { CaseType } from '../domain/vocabulary';

/**
 * Webhooks: exponential backoff, then give up (the case records the failure and moves on).
 * An attempt may wait up to 2 minutes for our own Postgres (webhooks.ts), so its time limit
 * is long; the heartbeat timeout notices a worker that died within 30 s.
 */
const { deliverWebhook } = proxyActivities<CaseActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

export interface PartnerNotification {
  partnerId: string;
  event: string;
  orderId: string;
  deadline?: string;
  /** What the partner needs to know (the webhook body's `case`). */
  case: Record<string, unknown>;
}

type RecordEvent = (type: string, actor: string, data: Record<string, unknown>) => void;

/** Returns `notify`, which delivers one webhook and reports whether it arrived. */
export function partnerNotifier(caseId: string, caseType: CaseType, record: RecordEvent) {
  const { workflowId } = workflowInfo();
  let step = 0;
  return async function notify(n: PartnerNotification): Promise<boolean> {
    // Numbered when the call starts, so concurrent deliveries still get ids that replay identically.
    const deliveryId = `${workflowId}:${++step}`;
    const about = { event: n.event, partnerId: n.partnerId, orderId: n.orderId, deliveryId };
    try {
      const result = await deliverWebhook({
        partnerId: n.partnerId, event: n.event, deliveryId, caseId, caseType, orderId: n.orderId,
        deadline: n.deadline, case: n.case,
      });
      record('notification_delivered', 'system', { ...about, attempts: result.attempt, httpStatus: result.httpStatus });
      return true;
    } catch (err) {
      record('notification_failed', 'system', { ...about, error: failureMessage(err) });
      return false;
    }
  };
}

export function failureMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : err.message;
  }
  return String(err);
}
