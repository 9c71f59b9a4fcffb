/** Small pieces several pages share: partner names, vocab options, the story of a timeline event. */
import { api, describeError } from '../api';
import { h } from '../dom';
import { t } from '../i18n';

export const CATEGORIES = ['clothing', 'food', 'housing', 'transport', 'daily_goods', 'medical', 'culture', 'employment', 'hardship'];
export const URGENCIES = ['normal', 'urgent'];
export const CHANNELS = ['home_visit', 'phone', 'walk_in', 'online'];
export const FLAGS = ['elderly_alone', 'disabled', 'mobility_limited', 'low_income'];
export const SR_STATUSES = ['dispatching', 'awaiting_ack', 'in_progress', 'escalated', 'awaiting_follow_up', 'awaiting_survey', 'closed', 'cancelled'];
export const REG_STATUSES = ['awaiting_documents', 'in_review', 'rejected', 'issuing', 'awaiting_delivery', 'awaiting_survey', 'closed', 'withdrawn'];

export const options = (prefix: string, codes: string[]): [string, string][] => codes.map((c) => [c, t(`${prefix}.${c}`)]);

export interface PartnerInfo { id: string; name: string; kind: string; categories: string[]; communities: string[]; active: boolean; capacity: number }

let partnerCache: Promise<Map<string, PartnerInfo>> | null = null;
export function partners(refresh = false): Promise<Map<string, PartnerInfo>> {
  if (refresh || !partnerCache) {
    partnerCache = api<{ items: PartnerInfo[] }>('GET', '/v1/partners?limit=500')
      .then((r) => new Map(r.items.map((p) => [p.id, p])))
      .catch(() => new Map());
  }
  return partnerCache;
}

export function actorLabel(actor: string | undefined): string {
  if (!actor) return t('actor.system');
  if (actor.includes('order-link')) return t('actor.orderLink');
  const role = actor.split(':')[0];
  return t(`actor.${role}`);
}

export interface TimelineEvent { seq: number; at: string; type: string; actor: string; data: Record<string, any> }

/** One event as a sentence a grid leader can read aloud. */
export function story(e: TimelineEvent, names: Map<string, PartnerInfo>): string {
  const d = e.data ?? {};
  const partner = d.partnerName ?? (d.partnerId ? names.get(d.partnerId)?.name ?? d.partnerId : '');
  const key = `event.${e.type}`;
  const vars = {
    actor: actorLabel(e.actor), partner, reason: d.reason ?? '', note: d.note ?? '', score: d.score ?? '', extraTime: d.extraTime ?? '',
    department: d.department ? t(`dept.${d.department}`) : '', certificateNo: d.certificateNo ?? '', type: e.type,
  };
  const text = t(key, vars);
  return text === key ? t('event.other', vars) : text;
}

/** A form's submit button that shows the API's answer (4xx with field errors) next to it, never a stack trace. */
export async function withMessage(box: HTMLElement, work: () => Promise<string | void>): Promise<boolean> {
  box.replaceChildren();
  try {
    const ok = await work();
    if (ok) box.append(h('p', { className: 'notice ok', role: 'status' }, ok));
    return true;
  } catch (err) {
    const { message, fields } = describeError(err);
    box.append(h('div', { className: 'notice error', role: 'alert' }, h('p', {}, message),
      fields.length ? h('ul', {}, fields.map((f) => h('li', {}, `${fieldLabel(f.path)}: ${fieldMessage(f.message)}`))) : null));
    return false;
  }
}

const FIELD_LABELS: Record<string, string> = {
  'resident.name': 'field.residentName', 'resident.phone': 'field.phone', 'resident.community': 'field.community', category: 'field.category',
  description: 'field.description', urgency: 'field.urgency', channel: 'field.channel', note: 'field.note', reason: 'field.reason',
  score: 'field.score', partnerId: 'field.partnerId', username: 'field.username', password: 'field.password', displayName: 'field.displayName',
  'property.address': 'field.propertyAddress', businessType: 'field.businessType', delivery: 'field.delivery', community: 'field.community',
  'applicants.0.name': 'field.applicantName', 'applicants.0.idNumber': 'field.idNumber', 'applicants.0.phone': 'field.phone', role: 'field.role',
};
/** The API's validation messages are English; the usual two are said in the page's language. */
export function fieldMessage(message: string): string {
  if (/^Too small: expected string|^Required|expected string, received undefined/i.test(message)) return t('error.required');
  if (/^Invalid option|expected one of/i.test(message)) return t('error.choose');
  return message;
}

export function fieldLabel(path: string): string {
  const p = path.replace(/^body\./, '');
  return FIELD_LABELS[p] ? t(FIELD_LABELS[p]) : p;
}

export const badge = (status: string) => h('span', { className: `badge s-${status}` }, t(`status.${status}`));
