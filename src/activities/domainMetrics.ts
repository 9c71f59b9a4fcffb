/**
 * Business counters, emitted through the Temporal SDK's metric meter so they leave the
 * worker on the same Prometheus endpoint as the SDK's own metrics (WORKER_METRICS_PORT).
 * Inside an activity the meter carries the activity's tags (namespace, task queue,
 * activity type); outside one (a unit test calling a function directly) nothing is counted.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, type MetricMeter, noopMetricMeter } from '@temporalio/common';
import type { CaseEventBatch } from '../domain/caseEvents';

export const DOMAIN_METRICS = {
  casesOpened: 'gongjian_cases_opened',
  slaBreaches: 'gongjian_sla_breaches',
  webhookAttempts: 'gongjian_webhook_attempts',
  readModelRejections: 'gongjian_read_model_rejections',
} as const;

function meter(): MetricMeter {
  try {
    return Context.current().metricMeter;
  } catch {
    return noopMetricMeter;
  }
}

/** The breach an event records, if any: `ack`, `fulfilment`, `follow_up`, `review`, `completion_target`. */
export function breachKind(type: string, data: Record<string, unknown>): string | null {
  if (type === 'ack_timeout') return 'ack';
  if (type === 'overdue') return typeof data.kind === 'string' ? data.kind : 'unknown';
  if (type === 'completion_target_breached') return 'completion_target';
  return null;
}

/** Count what a batch the read model has just stored tells: a case opened, SLAs breached. A resync re-sends old news: not counted. */
export function countStoredBatch(batch: CaseEventBatch): void {
  if (batch.resync || batch.events.length === 0) return;
  const m = meter();
  const caseType = batch.snapshot.type;
  for (const e of batch.events) {
    if (e.type === 'intake') {
      m.createCounter(DOMAIN_METRICS.casesOpened, 'cases', 'Cases opened, by case type').add(1, { case_type: caseType });
    }
    const kind = breachKind(e.type, e.data ?? {});
    if (kind) m.createCounter(DOMAIN_METRICS.slaBreaches, 'breaches', 'SLA deadlines passed, by case type and kind').add(1, { case_type: caseType, kind });
  }
}

export type WebhookOutcome = 'delivered' | 'failed' | 'rejected' | 'refused' | 'cancelled' | 'error';

/** How a failed attempt ended, from the failure deliverPartnerWebhook threw. */
export function webhookOutcomeOf(err: unknown): WebhookOutcome {
  if (err instanceof CancelledFailure) return 'cancelled';
  if (err instanceof ApplicationFailure) {
    if (err.type === 'WebhookRejected') return 'rejected';
    if (err.type === 'WebhookAddressRefused') return 'refused';
    if (err.type === 'WebhookDeliveryFailed') return 'failed';
  }
  return 'error';
}

export function countWebhookAttempt(event: string, outcome: WebhookOutcome): void {
  meter().createCounter(DOMAIN_METRICS.webhookAttempts, 'attempts', 'Partner webhook attempts, by event and outcome').add(1, { event, outcome });
}

export function countReadModelRejection(caseType: string, sqlstate: string): void {
  meter().createCounter(DOMAIN_METRICS.readModelRejections, 'batches', 'Read-model batches Postgres refused for their data (not retried)')
    .add(1, { case_type: caseType, sqlstate });
}
