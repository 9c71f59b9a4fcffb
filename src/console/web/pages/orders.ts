/**
 * 我的工单: a logged-in partner's open orders, each with its buttons, and its care-plan visits
 * (一人一策, GET /v1/partners/me/visits) with 签到 / 签退 as on the order-link page, phone-sized.
 */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { fmtTime, h } from '../dom';
import { currentLocale, t } from '../i18n';
import { orderActions } from '../orderActions';
import { badge } from './common';

interface Order { orderId: string; caseId: string; caseType: string; status: string; offeredAt: string; category: string | null; urgency: string | null; community: string | null; caseStatus: string }
const ACTIONS: Record<string, string[]> = { awaiting_ack: ['accept', 'decline'], in_progress: ['progress', 'complete'] };

interface RosterVisit {
  visitId: string; planId: string; dueAt: string; status: string; late: boolean; plannedServices: string[]; checkInAt?: string | null;
  carer?: string | null; hours?: number | null; resident: Record<string, string | undefined>;
}
const VISIT_ACTIONS: Record<string, string[]> = { scheduled: ['check-in'], in_progress: ['check-out'] };

/** One visit: the resident, when, what to do, and 签到 (then, on the same card, 签退). */
function visitCard(v: RosterVisit, flash: string | null = null): HTMLElement {
  const loc = currentLocale();
  const r = v.resident ?? {};
  const card: HTMLElement = h('article', { className: 'card order visit', 'data-visit': v.visitId },
    flash ? h('p', { className: 'notice ok', role: 'status' }, flash) : null,
    h('h2', {}, `${t('order.visit')} · ${fmtTime(v.dueAt, loc)} `, h('span', { className: `badge s-${v.status}` }, t(`visitStatus.${v.status}`)),
      v.late ? h('span', { className: 'badge s-overdue' }, t('field.late')) : null),
    h('p', { className: 'desc' }, (v.plannedServices ?? []).map((x) => t(`service.${x}`)).join('、')),
    h('p', {}, `${r.name ?? ''} · `, r.phone ? h('a', { href: `tel:${r.phone}` }, r.phone) : '', ` · ${[r.community, r.compound, r.grid, r.address].filter(Boolean).join(' ')}`),
    v.checkInAt ? h('p', { className: 'muted' }, `${t('field.checkInAt')}: ${fmtTime(v.checkInAt, loc)}${v.carer ? ` · ${v.carer}` : ''}`) : null,
    orderActions(VISIT_ACTIONS[v.status] ?? [], async (action, body) => {
      const plan = await api<{ openVisits?: Partial<RosterVisit>[] }>('POST', `/v1/care-plans/${encodeURIComponent(v.planId)}/visits/${encodeURIComponent(v.visitId)}/${action}`, body);
      if (action === 'check-in') {
        // The answer is the plan: its open visit says checked in; the card turns to 签退.
        const now = plan.openVisits?.find((x) => x.visitId === v.visitId);
        setTimeout(() => card.replaceWith(visitCard({ ...v, status: 'in_progress', ...(now ?? {}), planId: v.planId, resident: v.resident }, t('order.checkedIn'))), 600);
      }
    }, v.plannedServices));
  return card;
}

export async function ordersPage(ctx: Ctx): Promise<HTMLElement> {
  const [list, roster] = await Promise.all([
    api<{ items: Order[] }>('GET', '/v1/partners/me/orders?limit=100'),
    api<{ items: RosterVisit[] }>('GET', '/v1/partners/me/visits?limit=100'),
  ]);
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
  const openVisits = roster.items.filter((v) => v.status === 'scheduled' || v.status === 'in_progress');
  const pastVisits = roster.items.filter((v) => !openVisits.includes(v)).reverse().slice(0, 20);
  const loc = currentLocale();
  return h('section', { className: 'phone' }, h('h1', {}, t('orders.title')),
    h('h2', {}, t('orders.serviceOrders')),
    cards.filter(Boolean).length ? cards.filter((c): c is HTMLElement => c !== null) : h('p', {}, t('orders.empty')),
    past.length ? h('ul', { className: 'past' }, past.map((o) => h('li', {}, `${o.category ? t(`cat.${o.category}`) : t(`caseType.${o.caseType}`)} · ${fmtTime(o.offeredAt, loc)} · `, badge(o.caseStatus)))) : null,
    h('h2', {}, t('orders.visits')),
    openVisits.length ? openVisits.map((v) => visitCard(v)) : h('p', {}, t('orders.noVisits')),
    pastVisits.length ? h('ul', { className: 'past' }, pastVisits.map((v) => h('li', {}, `${t('order.visit')} · ${fmtTime(v.dueAt, loc)} · ${t(`visitStatus.${v.status}`)}${typeof v.hours === 'number' ? ` · ${v.hours.toFixed(2)} ${t('unit.H')}` : ''}`))) : null);
}
