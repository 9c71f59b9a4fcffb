/**
 * The activity stubs of every case workflow, with their options in one place. Activities
 * that read or write our own Postgres (read model, partner matching, reviewers,
 * certificate numbers) retry until it is back: a case must never lose a step to an outage.
 * Webhooks to partners have their own policy (they give up, and the case moves on).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { CaseActivities } from '../activities';

export const caseActivities = proxyActivities<CaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * Webhooks: exponential backoff, then give up (the case records the failure and moves on).
 * An attempt may wait up to 2 minutes for our own Postgres (webhooks.ts), so its time limit
 * is long; the heartbeat timeout notices a worker that died within 30 s.
 */
export const webhookActivities = proxyActivities<CaseActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});
