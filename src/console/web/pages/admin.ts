/** 共建单位, 时限规则 and 用户管理 (the first admin creates the people who use the console). */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, fmtTime, h, select } from '../dom';
import { currentLocale, t } from '../i18n';
import { partners, withMessage } from './common';

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
    return h('tr', {}, h('td', {}, p.name), h('td', {}, t(`kind.${p.kind}`)), h('td', {}, p.categories.map((c) => t(`cat.${c}`)).join('、')),
      h('td', {}, p.communities.join('、')), h('td', {}, String(p.capacity)), h('td', {}, toggle, box));
  });
  return h('section', {}, h('h1', {}, t('partners.title')), h('table', {},
    h('thead', {}, h('tr', {}, [t('field.partner'), t('field.kind'), t('field.category'), t('field.community'), t('field.capacity'), t('field.active')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}

/** PT2H -> 2 小时 / 2 h: durations as people say them. */
function humanDuration(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(String(v ?? ''));
  if (!m) return String(v ?? '');
  return (['D', 'H', 'M', 'S'] as const).map((u, i) => (m[i + 1] ? `${m[i + 1]}${t(`unit.${u}`)}` : '')).filter(Boolean).join(' ');
}

export async function slaPage(): Promise<HTMLElement> {
  const policies = await api<{ items: Record<string, unknown>[]; defaults: Record<string, unknown>[] }>('GET', '/v1/sla-policies');
  const DURATIONS = ['ackTimeout', 'reminderAfter', 'fulfilmentTimeout', 'followUpAfter', 'surveyWindow', 'maxDispatchAttempts', 'supplementWindow', 'reviewTimeout', 'completionTarget'];
  const table = (items: Record<string, unknown>[]) => h('table', {},
    h('thead', {}, h('tr', {}, [t('field.type'), t('field.category'), t('field.urgency'), ...DURATIONS.map((d) => t(`sla.${d}`))].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, items.map((p) => h('tr', {}, h('td', {}, t(`caseType.${p.caseType}`)), h('td', {}, p.category ? t(`cat.${p.category}`) : t('field.any')),
      h('td', {}, p.urgency ? t(`urgency.${p.urgency}`) : t('field.any')), DURATIONS.map((d) => h('td', {}, p[d] === undefined || p[d] === null ? '' : humanDuration(p[d])))))));
  return h('section', {}, h('h1', {}, t('sla.title')),
    h('h2', {}, t('sla.stored')), policies.items.length ? table(policies.items) : h('p', {}, t('dashboard.none')),
    h('h2', {}, t('sla.defaults')), table(policies.defaults ?? []));
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
    const list = communities.value.split(/[,，、]/).map((c) => c.trim()).filter(Boolean);
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
