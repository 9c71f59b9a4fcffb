/**
 * `escalation.raised` webhooks to the escalation contacts of a level in the case's community.
 * One activity for all the contacts of a level: a retry sends only to those not yet reached,
 * so a contact that is down never makes another hear the same escalation twice.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';
import { contactSealId, contactsFor } from '../db/escalationContacts';
import { addressRefusal, type WebhookAgent } from '../net/webhookDispatcher';
import { isPermanentHttpFailure, signBody, standardSignature } from './webhooks';

/** What a contact is told: the case, the level and why; never the resident. */
export interface EscalationNotice {
  /** Stable across retries: workflow id + escalation number + level. */
  deliveryId: string;
  caseId: string;
  caseType: string;
  /** Which escalation of the case (1, 2, ...). */
  escalation: number;
  level: number;
  reason: string;
  community: string | null;
  since: string;
}

export interface EscalationNoticeResult { contacts: number; delivered: number; refused: number }

export interface EscalationWebhookDeps {
  pool: Pool;
  fetch: typeof fetch;
  timeoutMs: number;
  /** Refuses non-public addresses at the socket, as for partners (webhookDispatcher.ts). */
  dispatcher: WebhookAgent;
  secrets?: WebhookSecretBox;
}

export async function notifyEscalationContacts(deps: EscalationWebhookDeps, notice: EscalationNotice): Promise<EscalationNoticeResult> {
  const contacts = await contactsFor(deps.pool, notice.level, notice.community);
  if (contacts.length === 0) return { contacts: 0, delivered: 0, refused: 0 };
  const { rows: done } = await deps.pool.query<{ contact_id: string; delivered: boolean }>(
    `SELECT contact_id, delivered_at IS NOT NULL OR (http_status BETWEEN 400 AND 499 AND http_status NOT IN (408, 429))
       OR error LIKE '%; refused' AS delivered
     FROM escalation_notifications WHERE delivery_id = $1`, [notice.deliveryId]);
  const finished = new Set(done.filter((d) => d.delivered).map((d) => d.contact_id));
  const body = JSON.stringify({ event: 'escalation.raised', ...notice });
  let delivered = 0;
  let refused = 0;
  const failures: string[] = [];
  for (const contact of contacts) {
    if (finished.has(contact.id)) { delivered++; continue; }
    Context.current().heartbeat();
    let status: number | null = null;
    let error: string | null = null;
    let blocked: string | null = null;
    const deliveryId = `${notice.deliveryId}:${contact.id}`;
    try {
      if (!deps.secrets) throw new Error('WEBHOOK_SECRET_KEYS is not set: this worker cannot open escalation contacts\' webhook secrets');
      const secret = deps.secrets.open(contactSealId(contact.id), contact.webhook_secret);
      blocked = deps.dispatcher.refusedUrl(contact.webhook_url);
      if (blocked) throw new Error(`${blocked}; refused`);
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await deps.fetch(contact.webhook_url, {
        method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(deps.timeoutMs),
        headers: {
          'content-type': 'application/json', 'x-signature': signBody(secret, body),
          'webhook-id': deliveryId, 'webhook-timestamp': String(timestamp),
          'webhook-signature': standardSignature([secret], deliveryId, timestamp, body),
          'x-delivery-id': deliveryId, 'x-event': 'escalation.raised', 'user-agent': 'gongjian-webhooks/1',
        },
        dispatcher: deps.dispatcher,
      } as RequestInit);
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
    } catch (err) {
      blocked ??= addressRefusal(err)?.message ?? null;
      error = blocked ? `${blocked}; refused` : (err as Error).name === 'TimeoutError' ? `timed out after ${deps.timeoutMs} ms` : (err as Error).message;
    }
    const ok = status !== null && status >= 200 && status < 300;
    await deps.pool.query(
      `INSERT INTO escalation_notifications AS n (delivery_id, contact_id, case_id, level, attempts, http_status, error, delivered_at)
       VALUES ($1, $2, $3, $4, 1, $5, $6, CASE WHEN $7 THEN now() END)
       ON CONFLICT (delivery_id, contact_id) DO UPDATE SET attempts = n.attempts + 1, http_status = EXCLUDED.http_status,
         error = EXCLUDED.error, delivered_at = coalesce(n.delivered_at, EXCLUDED.delivered_at), updated_at = now()`,
      [notice.deliveryId, contact.id, notice.caseId, notice.level, status, error, ok]);
    if (ok) delivered++;
    else if (blocked || (status !== null && isPermanentHttpFailure(status))) refused++;
    else failures.push(`${contact.name}: ${error ?? `HTTP ${status}`}`);
  }
  if (failures.length) {
    throw ApplicationFailure.retryable(`escalation.raised not delivered to ${failures.length} contact(s): ${failures.join('; ')}`, 'EscalationWebhookFailed');
  }
  return { contacts: contacts.length, delivered, refused };
}
