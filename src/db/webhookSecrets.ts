/**
 * Where a partner's webhooks go and what signs them. Secrets are sealed in Postgres
 * (src/crypto/secretBox.ts) and opened only here, at delivery time, so none enters workflow
 * history or an API answer.
 */
import type { Pool, PoolClient } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';

/** How long the previous secret still signs after a change (Standard Webhooks key rotation). */
export const DUAL_SIGNING_MS = 24 * 3600 * 1000;

export interface WebhookTarget {
  active: boolean;
  /** null: the partner has no system of its own (it works from the console or order links). */
  url: string | null;
  /** Secrets that sign, current first; the previous one only within DUAL_SIGNING_MS of a change. */
  secrets: string[];
}

interface SecretRow {
  id: string; active: boolean; webhook_url: string | null; webhook_secret: string | null;
  webhook_secret_sealed: string | null; previous_webhook_secret_sealed: string | null; webhook_secret_changed_at: Date | null;
}

export async function loadWebhookTarget(pool: Pool, box: WebhookSecretBox | undefined, partnerId: string, now = Date.now()): Promise<WebhookTarget | null> {
  const { rows } = await pool.query<SecretRow>(
    `SELECT id, active, webhook_url, webhook_secret, webhook_secret_sealed, previous_webhook_secret_sealed, webhook_secret_changed_at
       FROM partners WHERE id = $1`, [partnerId]);
  const r = rows[0];
  if (!r) return null;
  const open = (sealed: string) => {
    if (!box) throw new Error('WEBHOOK_SECRET_KEYS is not set: this worker cannot open partners\' webhook secrets');
    return box.open(r.id, sealed);
  };
  // A row written before 015 and not yet sealed at start-up still delivers.
  const current = r.webhook_secret_sealed ? open(r.webhook_secret_sealed) : r.webhook_secret;
  const secrets = current ? [current] : [];
  const changed = r.webhook_secret_changed_at?.getTime();
  if (r.previous_webhook_secret_sealed && changed !== undefined && now - changed < DUAL_SIGNING_MS) {
    secrets.push(open(r.previous_webhook_secret_sealed));
  }
  return { active: r.active, url: r.webhook_url, secrets };
}

/**
 * The columns for a new secret on `partnerId`: sealed, and, when it replaces another, the
 * old one kept (sealed) with the time of the change for dual signing.
 */
export async function secretChange(db: Pool | PoolClient, box: WebhookSecretBox, partnerId: string, secret: string): Promise<Record<string, unknown>> {
  const { rows } = await db.query<SecretRow>(
    'SELECT id, webhook_secret, webhook_secret_sealed FROM partners WHERE id = $1', [partnerId]);
  let old: string | null = null;
  try {
    old = rows[0] ? (rows[0].webhook_secret_sealed ? box.open(partnerId, rows[0].webhook_secret_sealed) : rows[0].webhook_secret) : null;
  } catch {
    // Sealed under a key no longer configured: unreadable, so it cannot co-sign; the new secret alone signs.
  }
  if (old === secret) return {};
  return {
    webhook_secret: null,
    webhook_secret_sealed: box.seal(partnerId, secret),
    ...(old ? { previous_webhook_secret_sealed: box.seal(partnerId, old), webhook_secret_changed_at: new Date() } : {}),
  };
}

/**
 * Start-up step of the API and the workers: seal any secret still in clear (rows from before
 * migration 015) and rewrap those sealed under an older key, so a retired key can be dropped
 * from WEBHOOK_SECRET_KEYS once every process has started with the new list. Idempotent.
 */
export async function sealWebhookSecrets(pool: Pool, box: WebhookSecretBox): Promise<{ sealed: number; rewrapped: number }> {
  const { rows } = await pool.query<SecretRow>(
    `SELECT id, webhook_secret, webhook_secret_sealed, previous_webhook_secret_sealed FROM partners
      WHERE webhook_secret IS NOT NULL OR webhook_secret_sealed IS NOT NULL OR previous_webhook_secret_sealed IS NOT NULL`);
  let sealed = 0;
  let rewrapped = 0;
  for (const r of rows) {
    const rewrap = (v: string | null) => (v && !box.isCurrent(v) ? box.seal(r.id, box.open(r.id, v)) : v);
    if (r.webhook_secret !== null) {
      await pool.query('UPDATE partners SET webhook_secret_sealed = $2, webhook_secret = NULL WHERE id = $1 AND webhook_secret = $3',
        [r.id, box.seal(r.id, r.webhook_secret), r.webhook_secret]);
      sealed += 1;
      continue;
    }
    const current = rewrap(r.webhook_secret_sealed);
    const previous = rewrap(r.previous_webhook_secret_sealed);
    if (current !== r.webhook_secret_sealed || previous !== r.previous_webhook_secret_sealed) {
      await pool.query('UPDATE partners SET webhook_secret_sealed = $2, previous_webhook_secret_sealed = $3 WHERE id = $1',
        [r.id, current, previous]);
      rewrapped += 1;
    }
  }
  return { sealed, rewrapped };
}
