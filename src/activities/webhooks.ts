import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';
import { isConnectionError } from '../db/pool';
import { loadWebhookTarget } from '../db/webhookSecrets';
import { addressRefusal, type WebhookAgent } from '../net/webhookDispatcher';

export interface WebhookDelivery {
  partnerId: string;
  event: string;
  /** Stable across retries of one delivery (workflow id + step), so partners can deduplicate. */
  deliveryId: string;
  caseId: string;
  caseType: string;
  orderId: string;
  deadline?: string;
  case: Record<string, unknown>;
}

export interface WebhookResult {
  /** null when skipped: the partner has no webhook of its own (the order waits for an answer by other means). */
  httpStatus: number | null;
  attempt: number;
  skipped?: true;
}

export function signBody(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * `webhook-signature` of Standard Webhooks: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * keyed with the secret's bytes; several secrets (a rotation's 24 h) sign space-separated.
 */
export function standardSignature(secrets: readonly string[], webhookId: string, timestamp: number, rawBody: string): string {
  return secrets.map((s) => `v1,${createHmac('sha256', Buffer.from(s, 'utf8')).update(`${webhookId}.${timestamp}.${rawBody}`).digest('base64')}`).join(' ');
}

/** 408 and 429 mean "later"; any other 4xx means the partner will never take this body. */
export function isPermanentHttpFailure(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** How long one delivery waits for Postgres to answer again before its attempt fails. */
const POSTGRES_WAIT_MS = 120_000;
/** Heartbeats while an attempt runs, so a worker that dies is noticed within the heartbeat timeout (partnerNotifier.ts). */
const HEARTBEAT_EVERY_MS = 5000;

export interface WebhookDeps {
  pool: Pool;
  fetch: typeof fetch;
  timeoutMs: number;
  /** The agent that refuses non-public addresses at the socket (webhookDispatcher.ts); fetch dials through it. */
  dispatcher: WebhookAgent;
  /** Opens the partners' sealed webhook secrets (WEBHOOK_SECRET_KEYS). */
  secrets?: WebhookSecretBox;
  /** How long to wait for an unreachable Postgres (tests shorten it). */
  postgresWaitMs?: number;
  /** The order link of a delivery (`links.order` in the body), or null when the event has none. */
  orderLink?: (d: WebhookDelivery) => Promise<string | null>;
}

/**
 * Run a statement, waiting (with backoff, heartbeating, cancellable) while Postgres is
 * unreachable. A delivery's attempts are the partner's: an outage of our own database
 * must not use them up, nor make us post the same event again for an unwritten log line.
 */
async function whilePostgresDown<T>(waitMs: number, work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const until = Date.now() + waitMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await work();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > until) throw err;
      ctx.heartbeat();
      await ctx.sleep(delay);
    }
  }
}

/**
 * POST one event to a partner's webhook. One call = one attempt at the partner; Temporal's
 * retry policy supplies the backoff. Each attempt is logged in `webhook_attempts` for the
 * case timeline. The URL and secret are read at delivery time, so a rotated secret applies
 * to retries and no secret ever enters workflow history. While Postgres is unreachable the
 * attempt waits for it (up to 2 minutes) instead of failing.
 */
export async function deliverPartnerWebhook(deps: WebhookDeps, d: WebhookDelivery): Promise<WebhookResult> {
  const ctx = Context.current();
  const heartbeats = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await deliverOnce(deps, d, ctx.info.attempt, ctx.cancellationSignal);
  } finally {
    clearInterval(heartbeats);
  }
}

/** `cancelled`: aborts the POST when the workflow cancels the delivery (its order moved on) or the worker stops. */
async function deliverOnce(deps: WebhookDeps, d: WebhookDelivery, attempt: number, cancelled: AbortSignal): Promise<WebhookResult> {
  const waitMs = deps.postgresWaitMs ?? POSTGRES_WAIT_MS;
  const partner = await whilePostgresDown(waitMs, () => loadWebhookTarget(deps.pool, deps.secrets, d.partnerId));
  if (!partner) throw ApplicationFailure.nonRetryable(`partner ${d.partnerId} does not exist`, 'PartnerNotFound');
  const log = (outcome: string, status: number | null, error: string | null) => whilePostgresDown(waitMs, () => deps.pool.query(
    `INSERT INTO webhook_attempts (delivery_id, attempt, case_id, partner_id, event, http_status, error, outcome)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [d.deliveryId, attempt, d.caseId, d.partnerId, d.event, status, error, outcome],
  ));
  if (!partner.active) {
    // A deactivated partner gets nothing more, not even what was queued before the change.
    const reason = `partner ${d.partnerId} is deactivated; nothing is sent to it`;
    await log('refused', null, reason);
    throw ApplicationFailure.nonRetryable(reason, 'PartnerInactive', { attempt });
  }
  if (!partner.url || partner.secrets.length === 0) {
    await log('skipped', null, null);
    return { httpStatus: null, attempt, skipped: true };
  }
  const url = partner.url;

  const link = deps.orderLink ? await whilePostgresDown(waitMs, () => deps.orderLink!(d)) : null;
  const body = JSON.stringify({
    event: d.event, deliveryId: d.deliveryId, caseId: d.caseId, caseType: d.caseType, orderId: d.orderId,
    ...(d.deadline ? { deadline: d.deadline } : {}), case: d.case,
    ...(link ? { links: { order: link } } : {}),
  });
  let status: number | null = null;
  let error: string | null = null;
  let refused: string | null = null;
  try {
    refused = deps.dispatcher.refusedUrl(url);
    if (refused) throw new Error(`${refused}; refused`);
    // This attempt's own time: partners refuse a webhook-timestamp more than 5 minutes off (replays).
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await deps.fetch(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-signature': signBody(partner.secrets[0], body),
        'webhook-id': d.deliveryId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': standardSignature(partner.secrets, d.deliveryId, timestamp, body),
        'x-delivery-id': d.deliveryId,
        'x-event': d.event,
        'user-agent': 'gongjian-webhooks/1',
      },
      signal: AbortSignal.any([AbortSignal.timeout(deps.timeoutMs), cancelled]),
      redirect: 'manual',
      // Node's fetch is undici's: the dispatcher's lookup and connect check the address really dialled.
      dispatcher: deps.dispatcher,
    } as RequestInit);
    status = res.status;
    await res.body?.cancel().catch(() => undefined);
  } catch (err) {
    refused ??= addressRefusal(err)?.message ?? null;
    if (refused) error = `${refused}; refused`;
    else if (cancelled.aborted) error = 'cancelled: the delivery was no longer wanted (or the worker stopped)';
    else error = (err as Error).name === 'TimeoutError' ? `timed out after ${deps.timeoutMs} ms` : (err as Error).message;
  }
  const delivered = status !== null && status >= 200 && status < 300;
  await log(delivered ? 'delivered' : refused ? 'refused' : 'failed', status, error);
  if (status !== null && status >= 200 && status < 300) return { httpStatus: status, attempt };
  if (cancelled.aborted) throw cancelled.reason; // a CancelledFailure: the activity ends as cancelled
  const reason = error ?? `partner answered HTTP ${status}`;
  if (refused) throw ApplicationFailure.nonRetryable(reason, 'WebhookAddressRefused', { attempt });
  if (status !== null && isPermanentHttpFailure(status)) {
    throw ApplicationFailure.nonRetryable(reason, 'WebhookRejected', { httpStatus: status, attempt });
  }
  throw ApplicationFailure.retryable(reason, 'WebhookDeliveryFailed', { httpStatus: status, attempt });
}
