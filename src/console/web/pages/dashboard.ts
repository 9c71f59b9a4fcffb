/** 待办看板: what needs a supervisor's decision now, with the assign and extension-decision actions in place. */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, fmtTime, h, select } from '../dom';
import { currentLocale, t } from '../i18n';
import { caseHref, partners, withMessage } from './common';

interface CaseRow { id: string; type: string; status: string; category: string | null; community: string | null; createdAt: string }
interface Deadline { caseId: string; caseType?: string; kind: string; dueAt: string; breached: boolean; community?: string }
interface Escalation { caseId: string; caseType: string; community: string | null; reason: string; level: number; since: string }
interface Extension { caseId: string; community: string | null; partnerId: string | null; category: string | null; extraTime: string; reason: string; requestedAt: string }

export async function dashboardPage(ctx: Ctx): Promise<HTMLElement> {
  const loc = currentLocale();
  // Filtered to the user's own level of the chain when it has one (level=mine); highest level and oldest first.
  const mine = ctx.me.user?.escalationLevel ? '&level=mine' : '';
  const [names, escalated, deadlines, extensions, escalations] = await Promise.all([
    partners(),
    api<{ items: CaseRow[] }>('GET', '/v1/cases?status=escalated&limit=100'),
    api<{ items: Deadline[] }>('GET', '/v1/timeouts?within=PT24H&limit=200'),
    api<{ items: Extension[] }>('GET', '/v1/extension-requests?limit=100'),
    api<{ items: Escalation[] }>('GET', `/v1/escalations?status=open&limit=100${mine}`),
  ]);
  const active = [...names.values()].filter((p) => p.active);
  const caseLink = (id: string, label: string, type?: string) => h('a', { href: caseHref(id, type) }, label);

  const escalatedRows = escalated.items.map((c) => {
    const partner = select('partnerId', active.filter((p) => !c.category || p.categories.includes(c.category) || p.categories.length === 0).map((p) => [p.id, p.name]), { empty: '—', required: true });
    const box = h('span', { 'aria-live': 'polite' });
    const form = h('form', { className: 'inline' }, field(t('field.partner'), partner), h('button', { type: 'submit', className: 'primary' }, t('action.assign')), box);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (await withMessage(box, async () => { await api('POST', `/v1/service-requests/${c.id}/assign`, { partnerId: partner.value }); return t('order.done'); })) {
        setTimeout(() => ctx.go(`#/dashboard?t=${Date.now()}`), 500);
      }
    });
    return h('li', { 'data-case': c.id }, caseLink(c.id, `${c.category ? t(`cat.${c.category}`) : ''} · ${c.community ?? ''} · ${fmtTime(c.createdAt, loc)}`), form);
  });

  const breaches = deadlines.items.filter((d) => d.breached);
  const upcoming = deadlines.items.filter((d) => !d.breached);
  const deadlineRow = (d: Deadline) => h('li', {}, caseLink(d.caseId, `${t(`deadline.${d.kind}`)} · ${fmtTime(d.dueAt, loc)}`, d.caseType), d.breached ? h('span', { className: 'badge s-overdue' }, t('dashboard.breaches')) : null);

  const extensionRows = extensions.items.map((e) => {
    const box = h('span', { 'aria-live': 'polite' });
    const decide = (approve: boolean) => withMessage(box, async () => {
      await api('POST', `/v1/service-requests/${e.caseId}/extension-decision`, { approve });
      setTimeout(() => ctx.go(`#/dashboard?t=${Date.now()}`), 500);
      return t('order.done');
    });
    return h('li', {}, caseLink(e.caseId, `${e.partnerId ? names.get(e.partnerId)?.name ?? '' : ''} · +${e.extraTime} · ${e.reason}`),
      h('button', { type: 'button', onclick: () => decide(true) }, t('action.approveExtension')),
      h('button', { type: 'button', onclick: () => decide(false) }, t('action.rejectExtension')), box);
  });

  const escalationRows = escalations.items.map((e) => h('li', { 'data-escalation': e.caseId },
    caseLink(e.caseId, `${t('escalation.level', { level: e.level })} · ${e.community ?? ''} · ${fmtTime(e.since, loc)}`, e.caseType)));

  const panel = (title: string, id: string, items: HTMLElement[]) => h('section', { className: 'card panel', 'aria-labelledby': id },
    h('h2', { id }, title, ' ', h('span', { className: 'count' }, String(items.length))), items.length ? h('ul', {}, items) : h('p', {}, t('dashboard.none')));
  return h('section', {}, h('h1', {}, t('dashboard.title')), h('div', { className: 'panels' },
    panel(t('dashboard.escalated'), 'p-escalated', escalatedRows),
    panel(t('dashboard.escalations'), 'p-escalations', escalationRows),
    panel(t('dashboard.breaches'), 'p-breaches', breaches.map(deadlineRow)),
    panel(t('dashboard.extensions'), 'p-extensions', extensionRows),
    panel(t('dashboard.deadlines'), 'p-deadlines', upcoming.map(deadlineRow))));
}
