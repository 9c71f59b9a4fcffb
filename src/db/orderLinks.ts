/** Order links (migration 026): which order, partner and kind a token stands for, and until when. */
import { createHash, createHmac } from 'node:crypto';
import type { Pool } from 'pg';

export const ORDER_LINK_KINDS = ['service_order', 'review', 'visit'] as const;
export type OrderLinkKind = (typeof ORDER_LINK_KINDS)[number];
export const ORDER_LINK_DAYS = 30;

export interface OrderLinkRow { kind: OrderLinkKind; case_id: string; order_id: string; partner_id: string; expires_at: Date }
export interface OrderRef { kind: OrderLinkKind; caseId: string; orderId: string; partnerId: string }

export const hashOrderLinkToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** 256 bits of HMAC over the order: unguessable without the key, and the same every time for one order. */
export function orderLinkToken(secret: Buffer, o: OrderRef): string {
  return createHmac('sha256', secret).update(`order-link-v1\0${o.kind}\0${o.caseId}\0${o.orderId}\0${o.partnerId}`).digest('base64url');
}

/** The link of an order, recorded on first use; the 30 days run from then. */
export async function issueOrderLink(pool: Pool, secret: Buffer, o: OrderRef): Promise<{ token: string; expiresAt: Date }> {
  const token = orderLinkToken(secret, o);
  const hash = hashOrderLinkToken(token);
  await pool.query(
    `INSERT INTO order_links (token_hash, kind, case_id, order_id, partner_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6)) ON CONFLICT (token_hash) DO NOTHING`,
    [hash, o.kind, o.caseId, o.orderId, o.partnerId, ORDER_LINK_DAYS]);
  const { rows } = await pool.query<{ expires_at: Date }>('SELECT expires_at FROM order_links WHERE token_hash = $1', [hash]);
  return { token, expiresAt: rows[0].expires_at };
}

/** The order a token stands for, while it has not expired. */
export async function findOrderLink(pool: Pool, token: string): Promise<OrderLinkRow | null> {
  const { rows } = await pool.query<OrderLinkRow>(
    'SELECT kind, case_id, order_id, partner_id, expires_at FROM order_links WHERE token_hash = $1 AND expires_at > now()',
    [hashOrderLinkToken(token)]);
  return rows[0] ?? null;
}
