/** 共建单位, 时限规则 and 用户管理 (the first admin creates the people who use the console). */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, fmtTime, h, select } from '../dom';
import { currentLocale, t } from '../i18n';
import {
  CATEGORIES, DEPARTMENTS, durationInput, humanDuration, INSTITUTIONS, options, PARTNER_KINDS, partners, splitList, URGENCIES, withMessage, type PartnerInfo,
} from './common';

export async function partnersPage(ctx: Ctx): Promise<HTMLElement> {
  const list = await partners(true);
  const canEdit = ctx.me.role === 'admin' || ctx.me.role === 'supervisor';
  const rows = [...list.values()].map((p) => {
    const box = h('span', { 'aria-live': 'polite' });
    const toggle = canEdit ? h('button', { type: 'button', onclick: () => withMessage(box, async () => {
      await api('PATCH', `/v1/partners/${p.id}`, { active: !p.active });
      setTimeout(() => ctx.go(`#/partners?t=${Date.now()}`), 300);
      return t('order.done');
    }) }, p.active ? `${t('field.active')} ✓` : `${t('field.active')} ✗`) : h('span', {}, p.active ? t('field.yes') : t('field.no'));
    return h('tr', { 'data-partner': p.id }, h('td', {}, p.name), h('td', {}, t(`kind.${p.kind}`)), h('td', {}, p.categories.map((c) => t(`cat.${c}`)).join('、')),
      h('td', {}, p.communities.join('、')), h('td', {}, String(p.capacity)), h('td', {}, toggle, box),
      canEdit ? h('td', {}, h('a', { href: `#/partner/${encodeURIComponent(p.id)}`, className: 'button' }, t('action.edit'))) : null);
  });
  const headers = [t('field.partner'), t('field.kind'), t('field.category'), t('field.community'), t('field.capacity'), t('field.active'), ...(canEdit ? [t('field.actions')] : [])];
  return h('section', {}, h('h1', {}, t('partners.title')),
    canEdit ? h('p', {}, h('a', { href: '#/partner/new', className: 'button' }, t('action.newPartner'))) : null,
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows)));
}

/** 编辑共建单位 (PATCH, only the fields changed) and 新增共建单位 (POST): `#/partner/{id}`, `#/partner/new`. */
export async function partnerPage(ctx: Ctx, id: string): Promise<HTMLElement> {
  const isNew = id === 'new' || id === '';
  const current: PartnerInfo | null = isNew ? null : await api<PartnerInfo>('GET', `/v1/partners/${encodeURIComponent(id)}`);
  const name = h('input', { name: 'name', required: true, value: current?.name ?? '' });
  const kind = select('kind', options('kind', PARTNER_KINDS), { value: current?.kind ?? 'co_building_unit' });
  const cats = CATEGORIES.map((c) => h('input', { type: 'checkbox', name: 'categories', value: c, checked: current?.categories.includes(c) ?? false }));
  const communities = h('input', { name: 'communities', value: (current?.communities ?? ctx.me.communities ?? []).join('、') });
  const grids = h('input', { name: 'grids', value: (current?.grids ?? []).join('、') });
  const capacity = h('input', { name: 'capacity', type: 'number', min: 0, step: 1, value: String(current?.capacity ?? 10) });
  const hours = h('input', { name: 'hours', value: current?.hours ?? '' });
  const department = select('department', options('dept', DEPARTMENTS), { empty: '—', value: current?.department ?? '' });
  const institution = select('institution', options('institution', INSTITUTIONS), { empty: '—', value: current?.institution ?? '' });
  const webhookUrl = h('input', { name: 'webhookUrl', type: 'url', value: current?.webhookUrl ?? '', autocomplete: 'off' });
  const webhookSecret = h('input', { name: 'webhookSecret', type: 'password', autocomplete: 'new-password' });
  const active = h('input', { type: 'checkbox', name: 'active', checked: current?.active ?? true });
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card', novalidate: true, 'data-testid': 'partner-form' }, h('h1', {}, isNew ? t('partners.newTitle') : `${t('partners.editTitle')} · ${current!.name}`), box,
    h('div', { className: 'grid2' }, field(t('field.name'), name), field(t('field.kind'), kind), field(t('field.capacity'), capacity), field(t('field.serviceHours'), hours),
      field(t('field.communitiesServed'), communities), field(t('field.grids'), grids), field(t('field.department'), department), field(t('field.institution'), institution),
      field(t('field.webhookUrl'), webhookUrl), field(t('field.webhookSecret'), webhookSecret)),
    h('fieldset', {}, h('legend', {}, t('field.category')), CATEGORIES.map((c, i) => h('label', { className: 'check' }, cats[i], t(`cat.${c}`)))),
    h('label', { className: 'check' }, active, t('field.active')),
    h('div', { className: 'buttons' }, h('button', { type: 'submit', className: 'primary' }, t('action.save')), h('a', { href: '#/partners', className: 'button' }, t('nav.partners'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // What the form says now; a number field left blank or not a number goes as typed, so the API names it.
    const cap = capacity.value.trim();
    const wanted: Record<string, unknown> = {
      name: name.value.trim(), kind: kind.value, categories: cats.filter((c) => c.checked).map((c) => c.value), communities: splitList(communities.value),
      grids: splitList(grids.value), capacity: /^-?\d+$/.test(cap) ? Number(cap) : cap, active: active.checked,
      ...(hours.value.trim() ? { hours: hours.value.trim() } : {}), ...(department.value ? { department: department.value } : {}),
      ...(institution.value ? { institution: institution.value } : {}), ...(webhookUrl.value.trim() ? { webhookUrl: webhookUrl.value.trim() } : {}),
      ...(webhookSecret.value ? { webhookSecret: webhookSecret.value } : {}),
    };
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    const body = isNew ? wanted : Object.fromEntries(Object.entries(wanted).filter(([k, v]) => k === 'webhookSecret' || !same(v, (current as unknown as Record<string, unknown>)[k])));
    if (!isNew && Object.keys(body).length === 0) {
      box.replaceChildren(h('p', { className: 'notice error', role: 'alert' }, t('partners.noChange')));
      return;
    }
    let saved: PartnerInfo | null = null;
    await withMessage(box, async () => {
      saved = await api<PartnerInfo>(isNew ? 'POST' : 'PATCH', isNew ? '/v1/partners' : `/v1/partners/${encodeURIComponent(id)}`, body);
      return t('partners.saved');
    });
    if (!saved) return;
    await partners(true);
    // A new partner gets its own page; an edit stays on the form, which now compares with what was saved.
    if (isNew) setTimeout(() => ctx.go(`#/partner/${encodeURIComponent((saved as PartnerInfo).id)}`), 600);
    else { Object.assign(current!, saved); webhookSecret.value = ''; }
  });
  return form;
}

const SLA_FIELDS: Record<string, { durations: string[]; counts: string[] }> = {
  service_request: { durations: ['ackTimeout', 'reminderAfter', 'fulfilmentTimeout', 'followUpAfter', 'surveyWindow'], counts: ['maxDispatchAttempts'] },
  registration: { durations: ['supplementWindow', 'reviewTimeout', 'completionTarget', 'surveyWindow'], counts: [] },
};

/** The PUT /v1/sla-policies form: a case type (and for requests a category and urgency), then the limits to set. */
function slaForm(ctx: Ctx, caseType: string): HTMLElement {
  const type = select('caseType', options('caseType', Object.keys(SLA_FIELDS)), { value: caseType });
  type.addEventListener('change', () => ctx.go(`#/sla?caseType=${type.value}`));
  const split = caseType === 'service_request';
  const category = select('category', options('cat', CATEGORIES), { empty: t('field.any') });
  const urgency = select('urgency', options('urgency', URGENCIES), { empty: t('field.any') });
  const spec = SLA_FIELDS[caseType] ?? SLA_FIELDS.service_request;
  const durations = spec.durations.map((d) => ({ key: d, input: durationInput(d, t(`sla.${d}`)) }));
  const counts = spec.counts.map((c) => ({ key: c, input: h('input', { name: c, type: 'number', min: 1, step: 1 }) }));
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card', novalidate: true, 'data-testid': 'sla-form' }, h('h2', {}, t('sla.edit')), h('p', { className: 'muted' }, t('sla.hint')), box,
    h('div', { className: 'grid2' }, field(t('field.type'), type), split ? field(t('field.category'), category) : null, split ? field(t('field.urgency'), urgency) : null,
      durations.map((d) => d.input.el), counts.map((c) => field(t(`sla.${c.key}`), c.input))),
    h('button', { type: 'submit', className: 'primary' }, t('action.savePolicy')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body: Record<string, unknown> = { caseType };
    if (split && category.value) body.category = category.value;
    if (split && urgency.value) body.urgency = urgency.value;
    for (const d of durations) { const v = d.input.value(); if (v !== undefined) body[d.key] = v; }
    for (const c of counts) { const v = c.input.value.trim(); if (v) body[c.key] = /^\d+$/.test(v) ? Number(v) : v; }
    if (await withMessage(box, async () => { await api('PUT', '/v1/sla-policies', body); return t('sla.saved'); })) {
      setTimeout(() => ctx.go(`#/sla?caseType=${caseType}&t=${Date.now()}`), 600);
    }
  });
  return form;
}

export async function slaPage(ctx: Ctx, _arg: string, query: URLSearchParams): Promise<HTMLElement> {
  const policies = await api<{ items: Record<string, unknown>[]; defaults: Record<string, unknown>[] }>('GET', '/v1/sla-policies');
  const DURATIONS = ['ackTimeout', 'reminderAfter', 'fulfilmentTimeout', 'followUpAfter', 'surveyWindow', 'maxDispatchAttempts', 'supplementWindow', 'reviewTimeout', 'completionTarget'];
  const table = (items: Record<string, unknown>[], testid: string) => h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, [t('field.type'), t('field.category'), t('field.urgency'), ...DURATIONS.map((d) => t(`sla.${d}`))].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, items.map((p) => h('tr', {}, h('td', {}, t(`caseType.${p.caseType}`)), h('td', {}, p.category ? t(`cat.${p.category}`) : t('field.any')),
      h('td', {}, p.urgency ? t(`urgency.${p.urgency}`) : t('field.any')), DURATIONS.map((d) => h('td', {}, p[d] === undefined || p[d] === null ? '' : humanDuration(p[d])))))));
  const canEdit = (ctx.me.role === 'admin' || ctx.me.role === 'supervisor') && !ctx.me.communities;
  const caseType = SLA_FIELDS[query.get('caseType') ?? ''] ? query.get('caseType')! : 'service_request';
  return h('section', {}, h('h1', {}, t('sla.title')),
    canEdit ? slaForm(ctx, caseType) : null,
    h('h2', {}, t('sla.stored')), policies.items.length ? table(policies.items, 'sla-stored') : h('p', {}, t('dashboard.none')),
    h('h2', {}, t('sla.defaults')), table(policies.defaults ?? [], 'sla-defaults'));
}

/** 修改密码: every person, for its own account (PUT /v1/session/password); its other sessions end. */
export async function passwordPage(ctx: Ctx): Promise<HTMLElement> {
  if (!ctx.me.user) return ctx.notice('error', t('password.keyOnly'));
  const current = h('input', { name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 });
  const again = h('input', { name: 'newPasswordAgain', type: 'password', autocomplete: 'new-password', required: true });
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card narrow', novalidate: true }, h('h1', {}, t('password.title')), box,
    field(t('field.currentPassword'), current), field(t('field.newPassword'), next), field(t('field.newPasswordAgain'), again),
    h('button', { type: 'submit', className: 'primary' }, t('action.changePassword')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (next.value !== again.value) { box.replaceChildren(h('p', { className: 'notice error', role: 'alert' }, t('password.mismatch'))); return; }
    if (await withMessage(box, async () => { await api('PUT', '/v1/session/password', { currentPassword: current.value, newPassword: next.value }); return t('password.changed'); })) {
      current.value = ''; next.value = ''; again.value = '';
    }
  });
  return form;
}

interface User { id: string; username: string; displayName: string; role: string; communities: string[] | null; active: boolean; createdAt: string }

export async function usersPage(ctx: Ctx): Promise<HTMLElement> {
  const [users, names] = await Promise.all([api<{ items: User[] }>('GET', '/v1/users?limit=500'), partners(true)]);
  const username = h('input', { name: 'username', required: true, autocomplete: 'off' });
  const displayName = h('input', { name: 'displayName', required: true });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: 10 });
  const role = select('role', ['staff', 'supervisor', 'partner', 'admin'].map((r) => [r, t(`role.${r}`)]), { value: 'staff' });
  const partner = select('partnerId', [...names.values()].map((p) => [p.id, p.name]), { empty: '—' });
  const communities = h('input', { name: 'communities' });
  const level = select('escalationLevel', [['1', '1 网格'], ['2', '2 社区'], ['3', '3 街道']], { empty: '—' });
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card', novalidate: true }, h('h2', {}, t('action.createUser')), box,
    h('div', { className: 'grid2' }, field(t('field.username'), username), field(t('field.displayName'), displayName), field(t('field.password'), password),
      field(t('field.role'), role), field(t('field.partnerId'), partner), field(t('field.communities'), communities), field(t('field.escalationLevel'), level)),
    h('button', { type: 'submit', className: 'primary' }, t('action.createUser')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = splitList(communities.value);
    if (await withMessage(box, async () => {
      await api('POST', '/v1/users', {
        username: username.value.trim(), displayName: displayName.value.trim(), password: password.value, role: role.value,
        ...(partner.value ? { partnerId: partner.value } : {}), ...(list.length ? { communities: list } : {}),
        ...(level.value ? { escalationLevel: Number(level.value) } : {}),
      });
      return t('users.created');
    })) setTimeout(() => ctx.go(`#/users?t=${Date.now()}`), 500);
  });
  const rows = users.items.map((u) => h('tr', {}, h('td', {}, u.username), h('td', {}, u.displayName), h('td', {}, t(`role.${u.role}`)),
    h('td', {}, (u.communities ?? []).join('、')), h('td', {}, u.active ? t('field.yes') : t('field.no')), h('td', {}, fmtTime(u.createdAt, currentLocale()))));
  return h('section', {}, h('h1', {}, t('users.title')), form, h('table', {},
    h('thead', {}, h('tr', {}, [t('field.username'), t('field.displayName'), t('field.role'), t('field.community'), t('field.active'), t('field.createdAt')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}
