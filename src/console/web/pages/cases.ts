/** 案件列表 with the /v1/cases filters, and 案件详情: the timeline as a story, the staff actions, the order link. */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, fmtTime, h, select } from '../dom';
import { currentLocale, t } from '../i18n';
import { actorLabel, badge, caseHref, CATEGORIES, options, partners, PLAN_STATUSES, REG_STATUSES, SR_STATUSES, story, withMessage, type TimelineEvent } from './common';
import { registrationActions, registrationFacts } from './registration';

interface CaseRow { id: string; type: string; status: string; category: string | null; urgency: string | null; community: string | null; partnerId: string | null; overdue: boolean; createdAt: string }

/** The name of a row: the service area of a request, the business type of a registration, else the type. */
const caseLabel = (c: CaseRow) => (!c.category ? t(`caseType.${c.type}`) : c.type === 'registration' ? t(`business.${c.category}`) : c.type === 'service_request' ? t(`cat.${c.category}`) : t(`caseType.${c.type}`));

export async function casesPage(ctx: Ctx, _arg: string, query: URLSearchParams): Promise<HTMLElement> {
  const names = await partners();
  const filters = ['type', 'status', 'category', 'partnerId', 'community', 'overdue', 'from', 'to'];
  const qs = new URLSearchParams();
  for (const f of filters) if (query.get(f)) qs.set(f, query.get(f)!);
  if (query.get('cursor')) qs.set('cursor', query.get('cursor')!);
  qs.set('limit', '50');
  const list = await api<{ items: CaseRow[]; nextCursor: string | null }>('GET', `/v1/cases?${qs}`);

  const type = select('type', options('caseType', ['service_request', 'registration', 'care_plan']), { empty: t('field.any'), value: query.get('type') ?? '' });
  const status = select('status', options('status', [...new Set([...SR_STATUSES, ...REG_STATUSES, ...PLAN_STATUSES])]), { empty: t('field.any'), value: query.get('status') ?? '' });
  const category = select('category', options('cat', CATEGORIES), { empty: t('field.any'), value: query.get('category') ?? '' });
  const partner = select('partnerId', [...names.values()].map((p) => [p.id, p.name]), { empty: t('field.any'), value: query.get('partnerId') ?? '' });
  const community = h('input', { name: 'community', value: query.get('community') ?? '' });
  const overdue = select('overdue', [['true', t('field.yes')], ['false', t('field.no')]], { empty: t('field.any'), value: query.get('overdue') ?? '' });
  const from = h('input', { name: 'from', type: 'date', value: (query.get('from') ?? '').slice(0, 10) });
  const to = h('input', { name: 'to', type: 'date', value: (query.get('to') ?? '').slice(0, 10) });
  const form = h('form', { className: 'filters', role: 'search' },
    field(t('field.type'), type), field(t('field.status'), status), field(t('field.category'), category), field(t('field.partner'), partner),
    field(t('field.community'), community), field(t('field.overdue'), overdue), field(t('field.from'), from), field(t('field.to'), to),
    h('button', { type: 'submit' }, t('action.search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    for (const [k, el] of Object.entries({ type, status, category, partnerId: partner, community, overdue })) if (el.value) next.set(k, el.value);
    if (from.value) next.set('from', new Date(`${from.value}T00:00:00+08:00`).toISOString());
    if (to.value) next.set('to', new Date(`${to.value}T24:00:00+08:00`).toISOString());
    ctx.go(`#/cases?${next}`);
  });

  const rows = list.items.map((c) => h('tr', {},
    h('td', {}, h('a', { href: caseHref(c.id, c.type) }, caseLabel(c))),
    h('td', {}, badge(c.status), c.overdue ? h('span', { className: 'badge s-overdue' }, t('field.overdue')) : null),
    h('td', {}, c.urgency ? t(`urgency.${c.urgency}`) : ''), h('td', {}, c.community ?? ''),
    h('td', {}, c.partnerId ? names.get(c.partnerId)?.name ?? '' : ''), h('td', {}, fmtTime(c.createdAt, currentLocale()))));
  const next = list.nextCursor ? (() => { const q = new URLSearchParams(query); q.set('cursor', list.nextCursor!); return h('a', { href: `#/cases?${q}`, className: 'button' }, t('action.next')); })() : null;
  return h('section', {}, h('h1', {}, t('cases.title')), form,
    list.items.length === 0 ? h('p', {}, t('cases.empty')) : h('table', {},
      h('thead', {}, h('tr', {}, [t('field.category'), t('field.status'), t('field.urgency'), t('field.community'), t('field.partner'), t('field.createdAt')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)), next);
}

export async function casePage(ctx: Ctx, id: string): Promise<HTMLElement> {
  const enc = encodeURIComponent(id);
  const c = await api<any>('GET', `/v1/service-requests/${enc}`)
    .catch(async () => ({ ...(await api<any>('GET', `/v1/registrations/${enc}`)), isRegistration: true }))
    .catch(async (err) => {
      // A care plan has its own page (a link from the dashboard or a deadline names only the case).
      if (await api('GET', `/v1/care-plans/${enc}`).then(() => true, () => false)) return { isCarePlan: true };
      throw err;
    });
  if (c.isCarePlan) { ctx.go(`#/care-plan/${enc}`); return h('p', {}, ''); }
  const [names, history] = await Promise.all([partners(), api<{ items: TimelineEvent[] } | TimelineEvent[]>('GET', `/v1/cases/${enc}/history`)]);
  const events = Array.isArray(history) ? history : history.items;
  const loc = currentLocale();
  const facts: [string, string | Node][] = c.isRegistration
    ? registrationFacts(c, names)
    : [[t('field.resident'), c.resident?.name ?? ''], [t('field.phone'), c.resident?.phone ?? ''], [t('field.community'), [c.resident?.community, c.resident?.compound, c.resident?.grid].filter(Boolean).join(' · ')],
      [t('field.category'), t(`cat.${c.category}`)], [t('field.urgency'), t(`urgency.${c.urgency}`)], [t('field.channel'), t(`channel.${c.channel}`)],
      [t('field.description'), c.description ?? ''], [t('field.assignedPartner'), c.assignedPartnerId ? names.get(c.assignedPartnerId)?.name ?? '' : '']];
  const deadlines = Object.entries(c.deadlines ?? {}).map(([k, v]) => h('li', {}, `${t(`deadline.${k}`)}: ${fmtTime(v as string, loc)}`));
  const timeline = h('ol', { className: 'timeline', 'aria-label': t('case.timeline') },
    events.map((e) => h('li', { 'data-type': e.type }, h('time', { datetime: e.at }, fmtTime(e.at, loc)), ' ',
      c.isRegistration && e.type === 'intake' ? t('registration.opened', { actor: actorLabel(e.actor) }) : story(e, names))));
  const link = c.isRegistration ? null : h('section', { className: 'card' }, h('h2', {}, t('field.orderLink')),
    c.orderLink ? h('div', { className: 'link-row' }, h('input', { readonly: true, value: c.orderLink, 'aria-label': t('field.orderLink'), 'data-testid': 'order-link' }),
      h('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(c.orderLink).catch(() => undefined) }, t('action.copy'))) : h('p', {}, t('case.noLink')));
  const reload = () => setTimeout(() => ctx.go(`#/case/${enc}?t=${Date.now()}`), 600);
  return h('section', {}, h('h1', {}, `${t('case.title')} `, badge(c.status), c.overdue ? h('span', { className: 'badge s-overdue' }, t('field.overdue')) : null),
    h('dl', { className: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    deadlines.length ? h('ul', { className: 'deadlines' }, deadlines) : null,
    escalationCard(ctx, c), link, c.isRegistration ? registrationActions(ctx, c, names, reload) : staffActions(ctx, c, names),
    h('h2', {}, t('case.timeline')), timeline);
}

function staffActions(ctx: Ctx, c: any, names: Map<string, { id: string; name: string; active: boolean }>): HTMLElement | null {
  const role = ctx.me.role;
  const box = h('div', { 'aria-live': 'polite' });
  const act = (action: string, body: unknown, done: string) => withMessage(box, async () => {
    await api('POST', `/v1/service-requests/${c.id}/${action}`, body);
    setTimeout(() => ctx.go(`#/case/${c.id}?t=${Date.now()}`), 600);
    return done;
  });
  const parts: HTMLElement[] = [];
  if ((role === 'staff' || role === 'supervisor') && c.status === 'awaiting_follow_up') {
    const resolved = h('input', { type: 'checkbox', name: 'resolved', checked: true });
    const note = h('textarea', { name: 'note' });
    const f = h('form', { className: 'inline' }, field(t('field.resolved'), resolved), field(t('field.note'), note), h('button', { type: 'submit' }, t('action.followUp')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('follow-up', { resolved: resolved.checked, note: note.value }, t('order.done')); });
    parts.push(f);
  }
  if ((role === 'staff' || role === 'supervisor') && c.status === 'awaiting_survey') {
    const score = select('score', [['5', '5'], ['4', '4'], ['3', '3'], ['2', '2'], ['1', '1']]);
    const comment = h('input', { name: 'comment' });
    const f = h('form', { className: 'inline' }, field(t('field.score'), score), field(t('field.comment'), comment), h('button', { type: 'submit' }, t('action.survey')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('survey', { score: Number(score.value), ...(comment.value ? { comment: comment.value } : {}) }, t('order.done')); });
    parts.push(f);
  }
  if (role === 'supervisor' && !['closed', 'cancelled', 'awaiting_follow_up', 'awaiting_survey'].includes(c.status)) {
    const partner = select('partnerId', [...names.values()].filter((p) => p.active).map((p) => [p.id, p.name]), { empty: '—', required: true });
    const f = h('form', { className: 'inline' }, field(t('field.partner'), partner), h('button', { type: 'submit', className: 'primary' }, t('action.assign')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('assign', { partnerId: partner.value }, t('order.done')); });
    parts.push(f);
    if (c.extension?.status === 'pending') {
      parts.push(h('div', { className: 'inline' },
        h('span', {}, `${t('dashboard.extensions')}: ${c.extension.extraTime ?? ''} ${c.extension.reason ?? ''}`),
        h('button', { type: 'button', onclick: () => act('extension-decision', { approve: true }, t('order.done')) }, t('action.approveExtension')),
        h('button', { type: 'button', onclick: () => act('extension-decision', { approve: false }, t('order.done')) }, t('action.rejectExtension'))));
    }
  }
  if ((role === 'staff' || role === 'supervisor') && !['closed', 'cancelled'].includes(c.status)) {
    const reason = h('input', { name: 'reason' });
    const f = h('form', { className: 'inline' }, field(t('field.reason'), reason), h('button', { type: 'submit', className: 'danger' }, t('action.cancel')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('cancel', { reason: reason.value }, t('order.done')); });
    parts.push(f);
  }
  return parts.length ? h('section', { className: 'card' }, h('h2', {}, t('case.actions')), box, ...parts) : null;
}

/** 逐级督办: the case's escalation, and for staff and supervisors the 处理督办 action while it is open. */
function escalationCard(ctx: Ctx, c: any): HTMLElement | null {
  const e = c.escalation as { level: number; reason: string; since: string; acknowledgedBy?: string; acknowledgedAt?: string } | null | undefined;
  if (!e) return null;
  const acknowledged = Boolean(e.acknowledgedAt);
  const state = h('p', { 'data-testid': 'escalation' }, `${t('escalation.level', { level: e.level })} · ${t(acknowledged ? 'escalation.acknowledged' : 'escalation.open')} · ${fmtTime(e.since, currentLocale())}`);
  if (acknowledged || !(ctx.me.role === 'staff' || ctx.me.role === 'supervisor')) return h('section', { className: 'card' }, h('h2', {}, t('case.escalation')), state);
  const box = h('div', { 'aria-live': 'polite' });
  const note = h('textarea', { name: 'note', required: true });
  const f = h('form', { className: 'inline', 'data-testid': 'acknowledge' }, field(t('field.note'), note), h('button', { type: 'submit', className: 'primary' }, t('action.acknowledge')));
  const kind = c.isRegistration ? 'registrations' : 'service-requests';
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void withMessage(box, async () => {
      await api('POST', `/v1/${kind}/${encodeURIComponent(c.id)}/escalation/acknowledge`, { note: note.value });
      setTimeout(() => ctx.go(`#/case/${c.id}?t=${Date.now()}`), 600);
      return t('order.done');
    });
  });
  return h('section', { className: 'card' }, h('h2', {}, t('case.escalation')), state, box, f);
}
