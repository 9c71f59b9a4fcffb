/** 我的工单: a logged-in partner's open orders, each with its buttons, on a phone-sized screen. */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { fmtTime, h } from '../dom';
import { currentLocale, t } from '../i18n';
import { orderActions } from '../orderActions';
import { badge } from './common';

interface Order { orderId: string; caseId: string; caseType: string; status: string; offeredAt: string; category: string | null; urgency: string | null; community: string | null; caseStatus: string }
const ACTIONS: Record<string, string[]> = { awaiting_ack: ['accept', 'decline'], in_progress: ['progress', 'complete'] };

export async function ordersPage(ctx: Ctx): Promise<HTMLElement> {
  const list = await api<{ items: Order[] }>('GET', '/v1/partners/me/orders?limit=100');
  const open = list.items.filter((o) => o.caseType === 'service_request' && (o.status === 'offered' || o.status === 'in_progress'));
  const cards = await Promise.all(open.map(async (o) => {
    const c = await api<any>('GET', `/v1/service-requests/${o.caseId}`).catch(() => null);
    if (!c) return null;
    return h('article', { className: 'card order' },
      h('h2', {}, `${c.category ? t(`cat.${c.category}`) : ''} · ${t(`urgency.${c.urgency}`)} `, badge(c.status)),
      h('p', { className: 'desc' }, c.description ?? ''),
      h('p', {}, `${c.resident?.name ?? ''} · `, c.resident?.phone ? h('a', { href: `tel:${c.resident.phone}` }, c.resident.phone) : '', ` · ${[c.resident?.community, c.resident?.compound, c.resident?.address].filter(Boolean).join(' ')}`),
      h('p', { className: 'muted' }, fmtTime(o.offeredAt, currentLocale())),
      orderActions(ACTIONS[c.status] ?? [], async (action, body) => {
        await api('POST', `/v1/service-requests/${o.caseId}/${action}`, body);
        setTimeout(() => ctx.go(`#/orders?t=${Date.now()}`), 800);
      }));
  }));
  const past = list.items.filter((o) => !open.includes(o)).slice(0, 20);
  return h('section', { className: 'phone' }, h('h1', {}, t('orders.title')),
    cards.filter(Boolean).length ? cards.filter((c): c is HTMLElement => c !== null) : h('p', {}, t('orders.empty')),
    past.length ? h('ul', { className: 'past' }, past.map((o) => h('li', {}, `${o.category ? t(`cat.${o.category}`) : t(`caseType.${o.caseType}`)} · ${fmtTime(o.offeredAt, currentLocale())} · `, badge(o.caseStatus)))) : null);
}
