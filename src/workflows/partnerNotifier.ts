/**
 * Signed webhooks to partners from workflow code: each delivery gets an id stable across
 * retries (workflow id + step), and its outcome goes into the case timeline.
 */
import { CancellationScope, condition, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { CaseType } from '../domain/vocabulary';
import { webhookActivities } from './caseActivities';

const { deliverWebhook } = webhookActivities;

export interface PartnerNotification {
  partnerId: string;
  event: string;
  orderId: string;
  deadline?: string;
  /** What the partner needs to know (the webhook body's `case`). */
  case: Record<string, unknown>;
}

type RecordEvent = (type: string, actor: string, data: Record<string, unknown>) => void;

/**
 * Patch: a delivery whose order has moved on (accepted, declined, withdrawn) is cancelled
 * instead of retried until it arrives or gives up. Histories from before it replay the old
 * way. Asked only when a delivery turns stale, so a case whose deliveries all end in time
 * carries no patch marker (nor the TemporalChangeVersion search attribute it brings).
 */
export const CANCEL_STALE_DELIVERIES = 'cancel-stale-deliveries';

/** Run `send` until it settles, or until `stale()` turns true: then cancel it and answer 'stale'. */
async function unlessStale<T>(send: () => Promise<T>, stale: () => boolean): Promise<T | 'stale'> {
  const scope = new CancellationScope();
  let settled = false;
  let cancelled = false;
  void condition(() => settled || stale()).then(() => {
    if (settled || !patched(CANCEL_STALE_DELIVERIES)) return;
    cancelled = true;
    scope.cancel();
  });
  try {
    return await scope.run(send);
  } catch (err) {
    if (cancelled && isCancellation(err)) return 'stale';
    throw err;
  } finally {
    settled = true;
  }
}

/**
 * `steps` counts the deliveries of the case (the kernel owns it and carries it into a continued run).
 * Returns `notify`, which delivers one webhook and reports whether it arrived. With `stale`,
 * the delivery stops being retried once `stale()` is true (the order it announces has moved
 * on): recorded as `notification_cancelled`, reported as not delivered.
 */
export function partnerNotifier(caseId: string, caseType: CaseType, record: RecordEvent, steps: { count: number } = { count: 0 }) {
  const { workflowId } = workflowInfo();
  return async function notify(n: PartnerNotification, stale?: () => boolean): Promise<boolean> {
    // Numbered when the call starts, so concurrent deliveries still get ids that replay identically.
    // `steps` is carried across continue-as-new, so a continued run never repeats a delivery id.
    const deliveryId = `${workflowId}:${++steps.count}`;
    const about = { event: n.event, partnerId: n.partnerId, orderId: n.orderId, deliveryId };
    const send = () => deliverWebhook({
      partnerId: n.partnerId, event: n.event, deliveryId, caseId, caseType, orderId: n.orderId,
      deadline: n.deadline, case: n.case,
    });
    try {
      const result = stale ? await unlessStale(send, stale) : await send();
      if (result === 'stale') {
        record('notification_cancelled', 'system', { ...about, reason: 'the order moved on before the delivery arrived' });
        return false;
      }
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
