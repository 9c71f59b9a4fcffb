/** Small pieces several pages share: partner names, vocab options, the story of a timeline event. */
import { api, describeError } from '../api';
import { fmtTime, h } from '../dom';
import { currentLocale, t } from '../i18n';

export const CATEGORIES = ['clothing', 'food', 'housing', 'transport', 'daily_goods', 'medical', 'culture', 'employment', 'hardship'];
export const URGENCIES = ['normal', 'urgent'];
export const CHANNELS = ['home_visit', 'phone', 'walk_in', 'online'];
export const FLAGS = ['elderly_alone', 'disabled', 'mobility_limited', 'low_income'];
export const SR_STATUSES = ['dispatching', 'awaiting_ack', 'in_progress', 'escalated', 'awaiting_follow_up', 'awaiting_survey', 'closed', 'cancelled'];
export const REG_STATUSES = ['awaiting_documents', 'in_review', 'rejected', 'issuing', 'awaiting_delivery', 'awaiting_survey', 'closed', 'withdrawn'];
export const PLAN_STATUSES = ['active', 'paused', 'ended', 'cancelled'];
/** docs/care-plans.md: what a plan's partner does at a visit, and the one-off installations. */
export const CARE_SERVICES = ['rehab_massage', 'health_monitoring', 'daily_care', 'medical_escort', 'psychological_support', 'housekeeping'];
export const INSTALLATION_ITEMS = ['anti_fall_handrail', 'emergency_call_device', 'other'];
/** docs/registration.md: the documents a window may receive. */
export const DOCS = ['applicant_id', 'property_certificate', 'sale_contract', 'tax_receipt', 'mortgage_contract', 'loan_contract', 'land_use_certificate', 'completion_certificate', 'cadastral_survey', 'change_evidence', 'cancellation_evidence'];
export const PARTNER_KINDS = ['co_building_unit', 'social_org', 'volunteer_team', 'enterprise', 'property_company', 'department', 'linked_institution'];
export const DEPARTMENTS = ['tax', 'housing', 'natural_resources'];
export const INSTITUTIONS = ['bank', 'provident_fund', 'notary', 'court'];

/** Where a case of each type is shown. */
export const caseHref = (id: string, type?: string | null) => (type === 'care_plan' ? `#/care-plan/${encodeURIComponent(id)}` : `#/case/${encodeURIComponent(id)}`);

/** A comma list as typed (，、 too) -> its items. */
export const splitList = (v: string) => v.split(/[,，、]/).map((c) => c.trim()).filter(Boolean);

/** PT2H -> 2 小时 / 2 h: durations as people say them. */
export function humanDuration(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(String(v ?? ''));
  if (!m) return String(v ?? '');
  return (['D', 'H', 'M', 'S'] as const).map((u, i) => (m[i + 1] ? `${m[i + 1]} ${t(`unit.${u}`)}` : '')).filter(Boolean).join(' ');
}

/**
 * A duration as a number and a unit (天 / 小时 / 分钟), read back as ISO 8601 (P7D, PT1H, PT30M);
 * `value()` is undefined when the number is blank (for "unchanged" in a change form).
 */
export function durationInput(name: string, label: string, initial?: string): { el: HTMLElement; value(): string | undefined } {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(initial ?? '');
  const [n, u] = !m ? ['', 'D'] : m[1] ? [m[1], 'D'] : m[2] ? [m[2], 'H'] : m[3] ? [m[3], 'M'] : ['', 'D'];
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const num = h('input', { id, name, type: 'number', min: 1, step: 1, inputmode: 'numeric', value: n, className: 'num' });
  const unit = h('select', { name: `${name}Unit`, 'aria-label': `${label} ${t('field.unit')}` }, (['D', 'H', 'M'] as const).map((x) => h('option', { value: x, selected: x === u }, t(`unit.${x}`))));
  const el = h('div', { className: 'field' }, h('label', { for: id }, label), h('span', { className: 'duration' }, num, unit));
  return {
    el,
    value() {
      const v = num.value.trim();
      if (!v) return undefined;
      // Not a whole number above 0: sent as typed, so the API names the field ("must be a positive ISO 8601 duration").
      if (!/^\d+$/.test(v) || Number(v) <= 0) return v;
      return unit.value === 'D' ? `P${Number(v)}D` : `PT${Number(v)}${unit.value}`;
    },
  };
}

/** A `datetime-local` value, read as Beijing time (the console's clock), as an instant. */
export const beijingInstant = (v: string): string | undefined => (v ? new Date(`${v.length === 16 ? `${v}:00` : v}+08:00`).toISOString() : undefined);

export const options = (prefix: string, codes: string[]): [string, string][] => codes.map((c) => [c, t(`${prefix}.${c}`)]);

export interface PartnerInfo {
  id: string; name: string; kind: string; categories: string[]; communities: string[]; active: boolean; capacity: number;
  grids?: string[]; webhookUrl?: string | null; department?: string | null; institution?: string | null; hours?: string | null;
}

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
    dueAt: d.dueAt ? fmtTime(d.dueAt, currentLocale()) : '', carer: d.carer ?? '', hours: typeof d.hours === 'number' ? d.hours.toFixed(2) : '',
    item: d.item ? t(`install.${d.item}`) : '', level: d.level ?? '',
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
      fields.length ? h('ul', {}, fields.map((f) => h('li', {}, fieldLine(f)))) : null));
    return false;
  }
}

/** "居民姓名: 必填"; a problem of the whole body (no field) is its message alone. */
export function fieldLine(f: { path: string; message: string }): string {
  const label = fieldLabel(f.path);
  return label === '' || label === 'body' ? fieldMessage(f.message) : `${label}: ${fieldMessage(f.message)}`;
}

const FIELD_LABELS: Record<string, string> = {
  'resident.name': 'field.residentName', 'resident.phone': 'field.phone', 'resident.community': 'field.community', category: 'field.category',
  description: 'field.description', urgency: 'field.urgency', channel: 'field.channel', note: 'field.note', reason: 'field.reason',
  score: 'field.score', partnerId: 'field.partnerId', username: 'field.username', password: 'field.password', displayName: 'field.displayName',
  'property.address': 'field.propertyAddress', businessType: 'field.businessType', delivery: 'field.delivery', community: 'field.community',
  'applicants.0.name': 'field.applicantName', 'applicants.0.idNumber': 'field.idNumber', 'applicants.0.phone': 'field.phone', role: 'field.role',
  services: 'field.services', 'schedule.firstVisitAt': 'field.firstVisitAt', 'schedule.every': 'field.every', 'schedule.visitLength': 'field.visitLength',
  'schedule.lateAfter': 'field.lateAfter', 'schedule.missedAfter': 'field.missedAfter', schedule: 'carePlan.schedule', endsAt: 'field.endsAt',
  carer: 'field.carer', documents: 'field.documents', name: 'field.name', kind: 'field.kind', categories: 'field.category',
  communities: 'field.communitiesServed', grids: 'field.grids', capacity: 'field.capacity', webhookUrl: 'field.webhookUrl', webhookSecret: 'field.webhookSecret',
  department: 'field.department', institution: 'field.institution', hours: 'field.serviceHours', caseType: 'field.type',
  currentPassword: 'field.currentPassword', newPassword: 'field.newPassword', 'resident.address': 'field.address', 'resident.compound': 'field.compound',
  'resident.grid': 'field.grid', ackTimeout: 'sla.ackTimeout', reminderAfter: 'sla.reminderAfter', fulfilmentTimeout: 'sla.fulfilmentTimeout',
  followUpAfter: 'sla.followUpAfter', surveyWindow: 'sla.surveyWindow', maxDispatchAttempts: 'sla.maxDispatchAttempts', supplementWindow: 'sla.supplementWindow',
  reviewTimeout: 'sla.reviewTimeout', completionTarget: 'sla.completionTarget',
};
/** The API's validation messages are English; the usual two are said in the page's language. */
export function fieldMessage(message: string): string {
  if (/^Too small: expected string|^Required|expected string, received undefined/i.test(message)) return t('error.required');
  if (/^Invalid option|expected one of/i.test(message)) return t('error.choose');
  if (/must be in the future/i.test(message)) return t('error.future');
  if (/^set at least one of|^send at least one/i.test(message)) return t('error.nothingSet');
  if (/^is not the current password/i.test(message)) return t('error.wrongPassword');
  const min = /^Too small: expected number to be >=(\d+)/i.exec(message);
  if (min) return t('error.min', { min: min[1] });
  if (/must be an absolute http\(s\) URL|Invalid URL/i.test(message)) return t('error.url');
  if (/name at least one|too small: expected array/i.test(message)) return t('error.atLeastOne');
  if (/^must be at least visitLength/i.test(message)) return t('error.everyTooShort');
  if (/^must be shorter than missedAfter/i.test(message)) return t('error.lateBeforeMissed');
  if (/^must be a phone number/i.test(message)) return t('error.phone');
  if (/^must be a positive ISO 8601 duration|ISO 8601 duration/i.test(message)) return t('error.duration');
  return message;
}

export function fieldLabel(path: string): string {
  const p = path.replace(/^body\./, '');
  if (FIELD_LABELS[p]) return t(FIELD_LABELS[p]);
  // installations.0.note, applicants.1.name: the label of the field, whichever item it is
  const general = p.replace(/\.\d+\./, '.0.').replace(/^(installations)\.\d+.*$/, 'installations');
  return FIELD_LABELS[general] ? t(FIELD_LABELS[general]) : general === 'installations' ? t('field.installations') : p;
}

export const badge = (status: string) => h('span', { className: `badge s-${status}` }, t(`status.${status}`));
