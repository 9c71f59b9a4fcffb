/**
 * What a supervisor limited to some communities may do to partners. A partner's webhook and
 * its secret decide where residents' contact details go, for every community it serves, so
 * only unscoped supervisors and admins may change them once set; a limited supervisor
 * registers (a webhook included) and changes partners of its own communities only.
 */
import type { PartnerRow } from '../db/partners';
import type { Principal } from './auth';
import { forbidden } from './problem';

const WEBHOOK_FIELDS = ['webhookUrl', 'webhookSecret'] as const;

function outside(p: Principal, communities: readonly string[]): string[] {
  return communities.filter((c) => !p.communities!.includes(c));
}

/** POST /v1/partners: every community named must be the key's own, and at least one named. */
export function checkPartnerCreate(p: Principal, body: { communities: string[] }): void {
  if (!p.communities) return;
  if (body.communities.length === 0) throw forbidden('your key is limited to communities: a partner you register must name communities of yours');
  const foreign = outside(p, body.communities);
  if (foreign.length) throw forbidden(`your key may not register partners for community ${foreign.join(', ')}`);
}

/** PATCH /v1/partners/{id}: only a partner wholly within the key's communities, never its webhook. */
export function checkPartnerChange(p: Principal, current: PartnerRow, body: { communities?: string[]; webhookUrl?: string; webhookSecret?: string }): void {
  if (!p.communities) return;
  const webhook = WEBHOOK_FIELDS.filter((f) => body[f] !== undefined);
  if (webhook.length) throw forbidden(`only admins and supervisors not limited to communities may change ${webhook.join(' and ')}`);
  if (current.communities.length === 0 || outside(p, current.communities).length) {
    throw forbidden('this partner also serves communities outside those of your key');
  }
  const foreign = outside(p, body.communities ?? []);
  if (foreign.length || body.communities?.length === 0) throw forbidden(`your key may not extend a partner to community ${foreign.join(', ') || '(all)'}`);
}
