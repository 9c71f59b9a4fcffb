/**
 * 一人一策 for staff (docs/care-plans.md): the list of plans (/v1/cases?type=care_plan), the form
 * that opens one, and a plan's page: its visits with check-in/out and hours, the installations'
 * linked requests, the timeline, and the staff actions (cancel a visit, pause, resume, end, PATCH).
 */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, fmtTime, h, select } from '../dom';
import { currentLocale, t } from '../i18n';
import {
  actorLabel, badge, beijingInstant, CARE_SERVICES, durationInput, FLAGS, humanDuration, INSTALLATION_ITEMS, options, partners, PLAN_STATUSES, story,
  withMessage, type PartnerInfo, type TimelineEvent,
} from './common';

interface CaseRow { id: string; status: string; community: string | null; partnerId: string | null; overdue: boolean; createdAt: string }

interface Visit {
  visitId: string; dueAt: string; status: string; late: boolean; partnerId: string; plannedServices: string[];
  checkInAt?: string | null; checkOutAt?: string | null; carer?: string | null; services?: string[] | null; hours?: number | null;
  note?: string | null; cancelReason?: string | null;
}

interface Plan {
  id: string; status: string; resident: Record<string, any>; partnerId: string; services: string[]; schedule: Record<string, string>;
  endsAt: string | null; nextVisit: { visitId: string; dueAt: string } | null; visits: { completed: number; missed: number; cancelled: number; late: number };
  hoursTotal: number; installations: { item: string; note: string | null; serviceRequestId: string | null; status: string }[];
  escalation: { level: number; since?: string; acknowledgedAt?: string | null; note?: string } | null; pause: { reason?: string } | null;
  endReason?: string | null; openVisits: Visit[]; createdAt: string;
}

/** Partners that visit residents (not departments or linked institutions), active ones first for a form. */
const carers = (names: Map<string, PartnerInfo>) => [...names.values()].filter((p) => p.active && p.kind !== 'department' && p.kind !== 'linked_institution');

const visitBadge = (status: string) => h('span', { className: `badge s-${status === 'missed' ? 'overdue' : status === 'completed' ? 'closed' : status}` }, t(`visitStatus.${status}`));

export async function carePlansPage(ctx: Ctx, _arg: string, query: URLSearchParams): Promise<HTMLElement> {
  const names = await partners();
  const qs = new URLSearchParams({ type: 'care_plan', limit: '20' });
  for (const f of ['status', 'partnerId', 'community', 'overdue', 'from', 'to', 'cursor']) if (query.get(f)) qs.set(f, query.get(f)!);
  const list = await api<{ items: CaseRow[]; nextCursor: string | null }>('GET', `/v1/cases?${qs}`);
  // The list has no resident: each row's plan gives the name (one read per row of this page).
  const plans = await Promise.all(list.items.map((c) => api<Plan>('GET', `/v1/care-plans/${encodeURIComponent(c.id)}`).catch(() => null)));

  const status = select('status', options('status', PLAN_STATUSES), { empty: t('field.any'), value: query.get('status') ?? '' });
  const partner = select('partnerId', [...names.values()].map((p) => [p.id, p.name]), { empty: t('field.any'), value: query.get('partnerId') ?? '' });
  const community = h('input', { name: 'community', value: query.get('community') ?? '' });
  const overdue = select('overdue', [['true', t('field.yes')], ['false', t('field.no')]], { empty: t('field.any'), value: query.get('overdue') ?? '' });
  const from = h('input', { name: 'from', type: 'date', value: (query.get('from') ?? '').slice(0, 10) });
  const to = h('input', { name: 'to', type: 'date', value: (query.get('to') ?? '').slice(0, 10) });
  const form = h('form', { className: 'filters', role: 'search' },
    field(t('field.status'), status), field(t('field.partner'), partner), field(t('field.community'), community), field(t('field.overdue'), overdue),
    field(t('field.from'), from), field(t('field.to'), to), h('button', { type: 'submit' }, t('action.search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    for (const [k, el] of Object.entries({ status, partnerId: partner, community, overdue })) if (el.value) next.set(k, el.value);
    if (from.value) next.set('from', new Date(`${from.value}T00:00:00+08:00`).toISOString());
    if (to.value) next.set('to', new Date(`${to.value}T24:00:00+08:00`).toISOString());
    ctx.go(`#/care-plans?${next}`);
  });
  const loc = currentLocale();
  const rows = list.items.map((c, i) => {
    const p = plans[i];
    return h('tr', { 'data-plan': c.id },
      h('td', {}, h('a', { href: `#/care-plan/${encodeURIComponent(c.id)}` }, p?.resident?.name ?? t('carePlan.title'))),
      h('td', {}, badge(c.status), c.overdue ? h('span', { className: 'badge s-overdue' }, t('field.overdue')) : null),
      h('td', {}, (p?.services ?? []).map((s) => t(`service.${s}`)).join('、')),
      h('td', {}, p?.nextVisit ? fmtTime(p.nextVisit.dueAt, loc) : ''),
      h('td', {}, c.community ?? ''), h('td', {}, c.partnerId ? names.get(c.partnerId)?.name ?? '' : ''), h('td', {}, fmtTime(c.createdAt, loc)));
  });
  const next = list.nextCursor ? (() => { const q = new URLSearchParams(query); q.set('cursor', list.nextCursor!); return h('a', { href: `#/care-plans?${q}`, className: 'button' }, t('action.next')); })() : null;
  const canOpen = ctx.me.role === 'staff' || ctx.me.role === 'supervisor';
  return h('section', {}, h('h1', {}, t('carePlans.title')),
    canOpen ? h('p', {}, h('a', { href: '#/new-care-plan', className: 'button' }, t('action.newCarePlan'))) : null, form,
    list.items.length === 0 ? h('p', {}, t('carePlans.empty')) : h('table', {},
      h('thead', {}, h('tr', {}, [t('carePlan.resident'), t('field.status'), t('field.services'), t('carePlan.nextVisit'), t('field.community'), t('field.partner'), t('field.createdAt')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)), next);
}

/** Tomorrow 09:00 Beijing time, as a datetime-local value: a sensible first visit. */
function tomorrowNine(): string {
  const beijing = new Date(Date.now() + 8 * 3600_000 + 86400_000);
  return `${beijing.toISOString().slice(0, 10)}T09:00`;
}

export async function newCarePlanPage(ctx: Ctx): Promise<HTMLElement> {
  const names = await partners();
  const input = (name: string, extra: Record<string, string | boolean> = {}) => h('input', { name, ...extra });
  const name = input('name', { required: true });
  const phone = input('phone', { type: 'tel', inputmode: 'tel', required: true });
  const community = input('community', { required: true, value: ctx.me.communities?.[0] ?? '' });
  const compound = input('compound');
  const grid = input('grid');
  const address = input('address');
  const flags = FLAGS.map((f) => h('input', { type: 'checkbox', name: 'flags', value: f, checked: f === 'elderly_alone' }));
  const partner = select('partnerId', carers(names).map((p) => [p.id, p.name]), { required: true, empty: '—' });
  const services = CARE_SERVICES.map((s) => h('input', { type: 'checkbox', name: 'services', value: s }));
  const firstVisitAt = h('input', { name: 'firstVisitAt', type: 'datetime-local', required: true, value: tomorrowNine() });
  const every = durationInput('every', t('field.every'), 'P7D');
  const visitLength = durationInput('visitLength', t('field.visitLength'), 'PT1H');
  const lateAfter = durationInput('lateAfter', t('field.lateAfter'), 'PT30M');
  const missedAfter = durationInput('missedAfter', t('field.missedAfter'), 'PT4H');
  const endsAt = h('input', { name: 'endsAt', type: 'date' });
  const installs = INSTALLATION_ITEMS.map((item) => ({ item, box: h('input', { type: 'checkbox', name: 'installations', value: item }), note: h('input', { name: `note-${item}`, 'aria-label': `${t(`install.${item}`)} ${t('field.note')}` }) }));
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card', novalidate: true }, h('h1', {}, t('newCarePlan.title')), box,
    h('h2', {}, t('carePlan.resident')),
    h('div', { className: 'grid2' }, field(t('field.residentName'), name), field(t('field.phone'), phone), field(t('field.community'), community),
      field(t('field.compound'), compound), field(t('field.grid'), grid), field(t('field.address'), address)),
    h('fieldset', {}, h('legend', {}, t('field.flags')), FLAGS.map((f, i) => h('label', { className: 'check' }, flags[i], t(`flag.${f}`)))),
    h('fieldset', {}, h('legend', {}, t('field.services')), CARE_SERVICES.map((s, i) => h('label', { className: 'check' }, services[i], t(`service.${s}`)))),
    h('h2', {}, t('carePlan.schedule')),
    h('div', { className: 'grid2' }, field(t('field.partner'), partner), field(t('field.firstVisitAt'), firstVisitAt), every.el, visitLength.el, lateAfter.el, missedAfter.el,
      field(t('field.endsAt'), endsAt)),
    h('fieldset', {}, h('legend', {}, t('field.installations')), installs.map((i) => h('div', { className: 'inline' }, h('label', { className: 'check' }, i.box, t(`install.${i.item}`)), i.note))),
    h('button', { type: 'submit', className: 'primary' }, t('action.openPlan')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const opt = (el: HTMLInputElement) => (el.value.trim() ? el.value.trim() : undefined);
    let created: { id: string } | null = null;
    await withMessage(box, async () => {
      created = await api<{ id: string }>('POST', '/v1/care-plans', {
        resident: { name: name.value.trim(), phone: phone.value.trim(), community: community.value.trim(), compound: opt(compound), grid: opt(grid), address: opt(address),
          flags: flags.filter((f) => f.checked).map((f) => f.value) },
        partnerId: partner.value || undefined,
        services: services.filter((s) => s.checked).map((s) => s.value),
        schedule: { firstVisitAt: beijingInstant(firstVisitAt.value), every: every.value(), visitLength: visitLength.value(), lateAfter: lateAfter.value(), missedAfter: missedAfter.value() },
        ...(endsAt.value ? { endsAt: new Date(`${endsAt.value}T24:00:00+08:00`).toISOString() } : {}),
        installations: installs.filter((i) => i.box.checked).map((i) => ({ item: i.item, ...(i.note.value.trim() ? { note: i.note.value.trim() } : {}) })),
      });
      return t('carePlan.created');
    });
    if (created) ctx.go(`#/care-plan/${encodeURIComponent((created as { id: string }).id)}`);
  });
  return form;
}

export async function carePlanPage(ctx: Ctx, id: string): Promise<HTMLElement> {
  const enc = encodeURIComponent(id);
  const [names, plan, visits, history] = await Promise.all([
    partners(),
    api<Plan>('GET', `/v1/care-plans/${enc}`),
    api<{ items: Visit[] }>('GET', `/v1/care-plans/${enc}/visits?limit=50`),
    ctx.me.role === 'partner' ? Promise.resolve({ items: [] as TimelineEvent[] }) : api<{ items: TimelineEvent[] } | TimelineEvent[]>('GET', `/v1/cases/${enc}/history`),
  ]);
  const events = Array.isArray(history) ? history : history.items;
  const loc = currentLocale();
  const staff = ctx.me.role === 'staff' || ctx.me.role === 'supervisor';
  const live = plan.status === 'active' || plan.status === 'paused';
  const reload = () => setTimeout(() => ctx.go(`#/care-plan/${enc}?t=${Date.now()}`), 600);
  const partnerName = (pid: string) => names.get(pid)?.name ?? pid;

  // The read model's rows, where the workflow holds an open visit its live state, and open visits not written yet.
  const open = plan.openVisits ?? [];
  const rows = visits.items.map((row) => open.find((v) => v.visitId === row.visitId) ?? row);
  for (const v of open) if (!rows.some((row) => row.visitId === v.visitId)) rows.push(v);
  rows.sort((a, b) => Date.parse(b.dueAt) - Date.parse(a.dueAt));

  const r = plan.resident ?? {};
  const s = plan.schedule ?? {};
  const facts: [string, string | Node][] = [
    [t('field.residentName'), r.name ?? ''], [t('field.phone'), r.phone ?? ''], [t('field.address'), [r.community, r.compound, r.grid, r.address].filter(Boolean).join(' · ')],
    [t('field.partner'), partnerName(plan.partnerId)], [t('field.services'), plan.services.map((x) => t(`service.${x}`)).join('、')],
    [t('carePlan.schedule'), t('carePlan.scheduleText', { every: humanDuration(s.every), visitLength: humanDuration(s.visitLength), lateAfter: humanDuration(s.lateAfter), missedAfter: humanDuration(s.missedAfter) })],
    [t('field.firstVisitAt'), fmtTime(s.firstVisitAt, loc)], [t('carePlan.nextVisit'), plan.nextVisit ? fmtTime(plan.nextVisit.dueAt, loc) : '—'],
    [t('field.endsAt'), plan.endsAt ? fmtTime(plan.endsAt, loc) : '—'],
    [t('carePlan.visits'), t('carePlan.counts', plan.visits)], [t('carePlan.hoursTotal'), plan.hoursTotal.toFixed(2)],
  ];
  if (plan.status === 'paused' && plan.pause?.reason) facts.push([t('status.paused'), t('carePlan.pausedBecause', { reason: plan.pause.reason })]);
  if (!live && plan.endReason) facts.push([t('status.ended'), t('carePlan.endedBecause', { reason: plan.endReason })]);

  const visitTable = rows.length === 0 ? h('p', {}, t('carePlan.noVisits')) : h('table', { 'data-testid': 'visits' },
    h('thead', {}, h('tr', {}, [t('field.dueAt'), t('field.status'), t('field.partner'), t('field.carer'), t('field.checkInAt'), t('field.checkOutAt'), t('field.hours'), t('field.services'), staff ? t('field.actions') : t('field.reason')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((v) => h('tr', { 'data-visit': v.visitId },
      h('td', {}, fmtTime(v.dueAt, loc)),
      h('td', {}, visitBadge(v.status), v.late ? h('span', { className: 'badge s-overdue' }, t('field.late')) : null),
      h('td', {}, partnerName(v.partnerId)), h('td', {}, v.carer ?? ''), h('td', {}, fmtTime(v.checkInAt, loc)), h('td', {}, fmtTime(v.checkOutAt, loc)),
      h('td', {}, typeof v.hours === 'number' ? v.hours.toFixed(2) : ''),
      h('td', {}, (v.services ?? v.plannedServices ?? []).map((x) => t(`service.${x}`)).join('、')),
      h('td', {}, v.status === 'scheduled' && staff ? cancelVisitForm(enc, v, reload) : v.cancelReason ?? '')))));

  const installations = plan.installations.length === 0 ? h('p', {}, t('carePlan.noInstallations')) : h('table', {},
    h('thead', {}, h('tr', {}, [t('field.item'), t('field.note'), t('field.serviceRequest')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, plan.installations.map((i) => h('tr', {}, h('td', {}, t(`install.${i.item}`)), h('td', {}, i.note ?? ''),
      h('td', {}, i.serviceRequestId ? h('a', { href: `#/case/${encodeURIComponent(i.serviceRequestId)}` }, badge(i.status)) : badge(i.status))))));

  const timeline = h('ol', { className: 'timeline', 'aria-label': t('case.timeline') },
    events.map((e) => h('li', { 'data-type': e.type }, h('time', { datetime: e.at }, fmtTime(e.at, loc)), ' ',
      e.type === 'intake' ? t('carePlan.opened', { actor: actorLabel(e.actor) }) : story(e, names))));

  return h('section', {}, h('h1', {}, `${t('carePlan.title')} · ${r.name ?? ''} `, badge(plan.status)),
    h('dl', { className: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    escalationCard(plan, staff, enc, reload),
    h('section', { className: 'card' }, h('h2', {}, t('carePlan.visits')), visitTable),
    h('section', { className: 'card' }, h('h2', {}, t('carePlan.installations')), installations),
    staff && live ? planActions(plan, enc, names, reload) : null,
    events.length ? h('h2', {}, t('case.timeline')) : null, events.length ? timeline : null);
}

function cancelVisitForm(planId: string, v: Visit, reload: () => void): HTMLElement {
  const reason = h('input', { name: 'reason', required: true, 'aria-label': t('field.reason'), placeholder: t('field.reason') });
  const box = h('div', { 'aria-live': 'polite' });
  const f = h('form', { className: 'inline', novalidate: true }, reason, h('button', { type: 'submit', className: 'danger' }, t('action.cancelVisit')), box);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void withMessage(box, async () => {
      await api('POST', `/v1/care-plans/${planId}/visits/${encodeURIComponent(v.visitId)}/cancel`, { reason: reason.value });
      reload();
      return t('order.done');
    });
  });
  return f;
}

function escalationCard(plan: Plan, staff: boolean, planId: string, reload: () => void): HTMLElement | null {
  const e = plan.escalation;
  if (!e) return null;
  const acknowledged = Boolean(e.acknowledgedAt);
  const state = h('p', { 'data-testid': 'escalation' }, `${t('escalation.level', { level: e.level })} · ${t(acknowledged ? 'escalation.acknowledged' : 'escalation.open')} · ${fmtTime(e.since, currentLocale())}`);
  if (acknowledged || !staff) return h('section', { className: 'card' }, h('h2', {}, t('case.escalation')), state);
  const box = h('div', { 'aria-live': 'polite' });
  const note = h('textarea', { name: 'note', required: true });
  const f = h('form', { className: 'inline', 'data-testid': 'acknowledge', novalidate: true }, field(t('field.note'), note), h('button', { type: 'submit', className: 'primary' }, t('action.acknowledge')));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void withMessage(box, async () => {
      await api('POST', `/v1/care-plans/${planId}/escalation/acknowledge`, { note: note.value });
      reload();
      return t('order.done');
    });
  });
  return h('section', { className: 'card' }, h('h2', {}, t('case.escalation')), state, box, f);
}

/** Pause / resume / end with a reason, and the change form (PATCH: schedule, partner, services). */
function planActions(plan: Plan, planId: string, names: Map<string, PartnerInfo>, reload: () => void): HTMLElement {
  const box = h('div', { 'aria-live': 'polite' });
  const act = (path: string, body: unknown) => withMessage(box, async () => {
    await api('POST', `/v1/care-plans/${planId}/${path}`, body);
    reload();
    return t('order.done');
  });
  const reasonForm = (label: string, path: string, danger = false) => {
    const reason = h('input', { name: 'reason', required: true });
    const f = h('form', { className: 'inline', novalidate: true, 'data-action': path }, field(t('field.reason'), reason), h('button', { type: 'submit', className: danger ? 'danger' : '' }, label));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act(path, { reason: reason.value }); });
    return f;
  };
  const parts: HTMLElement[] = [];
  if (plan.status === 'active') parts.push(reasonForm(t('action.pausePlan'), 'pause'));
  if (plan.status === 'paused') parts.push(h('div', { className: 'inline' }, h('button', { type: 'button', className: 'primary', onclick: () => act('resume', {}) }, t('action.resumePlan'))));
  parts.push(reasonForm(t('action.endPlan'), 'end', true));

  // PATCH: only what was filled in is sent.
  const partner = select('partnerId', carers(names).filter((p) => p.id !== plan.partnerId).map((p) => [p.id, p.name]), { empty: '—' });
  const firstVisitAt = h('input', { name: 'firstVisitAt', type: 'datetime-local' });
  const every = durationInput('every', t('field.every'));
  const visitLength = durationInput('visitLength', t('field.visitLength'));
  const lateAfter = durationInput('lateAfter', t('field.lateAfter'));
  const missedAfter = durationInput('missedAfter', t('field.missedAfter'));
  const services = CARE_SERVICES.map((s) => h('input', { type: 'checkbox', name: 'services', value: s, checked: plan.services.includes(s) }));
  const change = h('form', { className: 'card', novalidate: true, 'data-testid': 'change-plan' }, h('h2', {}, t('carePlan.change')), h('p', { className: 'muted' }, t('carePlan.changeHint')),
    h('div', { className: 'grid2' }, field(t('field.partner'), partner), field(t('field.firstVisitAt'), firstVisitAt), every.el, visitLength.el, lateAfter.el, missedAfter.el),
    h('fieldset', {}, h('legend', {}, t('field.services')), CARE_SERVICES.map((s, i) => h('label', { className: 'check' }, services[i], t(`service.${s}`)))),
    h('button', { type: 'submit', className: 'primary' }, t('action.changePlan')));
  change.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const schedule = Object.fromEntries(Object.entries({
      firstVisitAt: beijingInstant(firstVisitAt.value), every: every.value(), visitLength: visitLength.value(), lateAfter: lateAfter.value(), missedAfter: missedAfter.value(),
    }).filter(([, v]) => v !== undefined));
    const chosen = services.filter((x) => x.checked).map((x) => x.value);
    const sameServices = chosen.length === plan.services.length && chosen.every((x) => plan.services.includes(x));
    const body = {
      ...(Object.keys(schedule).length ? { schedule } : {}), ...(partner.value ? { partnerId: partner.value } : {}), ...(sameServices ? {} : { services: chosen }),
    };
    void withMessage(box, async () => {
      await api('PATCH', `/v1/care-plans/${planId}`, body);
      reload();
      return t('order.done');
    });
  });
  return h('section', { className: 'card' }, h('h2', {}, t('carePlan.actions')), box, ...parts, change);
}
