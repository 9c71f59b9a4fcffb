/** The order-link page /p/{token}: one order, on a phone, without an account. */
import './style.css';
import { api, describeError } from './api';
import { h, mount } from './dom';
import { switchLocale, t } from './i18n';
import { orderActions } from './orderActions';
import { badge } from './pages/common';

const root = document.getElementById('app')!;
const token = location.pathname.split('/').filter(Boolean).pop() ?? '';

/** What the last tap did, shown above the order once it has reloaded. */
let flash: string | null = null;

interface Order { caseId: string; caseType: string; kind: string; status: string; actions: string[]; case: any }

function page(...content: (Node | string)[]): void {
  mount(root, h('header', {}, h('strong', { className: 'brand' }, t('order.title')),
    h('div', { className: 'tools' }, h('button', { type: 'button', className: 'lang', 'data-testid': 'lang-switch', onclick: () => switchLocale(render) }, t('lang.switch')))),
  h('main', { className: 'phone' }, ...content));
}

async function render(): Promise<void> {
  document.title = t('order.title');
  let order: Order;
  try {
    order = await api<Order>('GET', `/v1/order-links/${encodeURIComponent(token)}`, undefined, { quiet401: true });
  } catch (err) {
    const { message } = describeError(err);
    page(h('div', { className: 'notice error', role: 'alert' }, h('p', {}, (err as { problem?: { status: number } }).problem?.status === 404 ? t('order.dead') : message)));
    return;
  }
  const c = order.case;
  const address = [c.resident?.community, c.resident?.compound, c.resident?.grid, c.resident?.address].filter(Boolean).join(' ');
  const facts: [string, string][] = order.kind === 'visit'
    ? [[t('field.dueAt'), new Date(c.dueAt).toLocaleString()], [t('field.services'), (c.services ?? []).map((x: string) => t(`service.${x}`)).join('、')],
      [t('field.resident'), c.resident?.name ?? ''], [t('field.phone'), c.resident?.phone ?? ''], [t('field.address'), address]]
    : order.kind === 'review'
    ? [[t('order.review'), t(`dept.${c.department}`)], [t('field.businessType'), t(`business.${c.businessType}`)], [t('field.propertyAddress'), c.property?.address ?? ''],
      [t('field.applicantName'), (c.applicants ?? []).map((a: { name: string }) => a.name).join('、')]]
    : [[t('field.category'), t(`cat.${c.category}`)], [t('field.urgency'), t(`urgency.${c.urgency}`)], [t('field.description'), c.description ?? ''],
      [t('field.resident'), c.resident?.name ?? ''], [t('field.phone'), c.resident?.phone ?? ''],
      [t('field.address'), address]];
  const shown = flash ? h('p', { className: 'notice ok', role: 'status' }, flash) : null;
  flash = null;
  page(...(shown ? [shown] : []), h('article', { className: 'card order' }, h('h1', {}, order.kind === 'visit' ? t('order.visit') : order.kind === 'review' ? t('order.review') : t(`cat.${c.category}`), ' ', badge(order.status)),
    h('dl', { className: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    orderActions(order.actions, async (action, body) => {
      await api('POST', `/v1/order-links/${encodeURIComponent(token)}/${action}`, body, { quiet401: true });
      const after: Record<string, string> = { accept: t('order.accepted'), progress: t('order.done'), 'check-in': t('order.checkedIn') };
      if (after[action]) setTimeout(() => { flash = after[action]; void render(); }, 600);
    }, order.kind === 'visit' ? c.services : [])));
}

void render();
