/** The console: log in, then the pages of the person's role. Hash routes, so the server serves one page. */
import './style.css';
import { api, describeError, setCsrfToken, whenSessionEnds } from './api';
import { h, mount } from './dom';
import { switchLocale, t } from './i18n';
import { casePage, casesPage } from './pages/cases';
import { dashboardPage } from './pages/dashboard';
import { newRegistrationPage, newRequestPage } from './pages/forms';
import { partnerPage, partnersPage, passwordPage, slaPage, usersPage } from './pages/admin';
import { carePlanPage, carePlansPage, newCarePlanPage } from './pages/carePlans';
import { ordersPage } from './pages/orders';
import { loginPage } from './pages/login';
import type { Ctx, Me } from './ctx';

const root = document.getElementById('app')!;
let me: Me | null = null;

const NAV: Record<string, [string, string][]> = {
  staff: [['#/cases', 'nav.cases'], ['#/care-plans', 'nav.carePlans'], ['#/new-request', 'action.newRequest'], ['#/new-registration', 'action.newRegistration']],
  supervisor: [['#/dashboard', 'nav.dashboard'], ['#/cases', 'nav.cases'], ['#/care-plans', 'nav.carePlans'], ['#/reports', 'nav.reports'], ['#/partners', 'nav.partners'], ['#/sla', 'nav.sla'], ['#/new-request', 'action.newRequest']],
  partner: [['#/orders', 'nav.orders']],
  admin: [['#/users', 'nav.users'], ['#/partners', 'nav.partners'], ['#/sla', 'nav.sla'], ['#/cases', 'nav.cases'], ['#/care-plans', 'nav.carePlans'], ['#/reports', 'nav.reports']],
};
const HOME: Record<string, string> = { staff: '#/cases', supervisor: '#/dashboard', partner: '#/orders', admin: '#/users' };

type Page = (ctx: Ctx, arg: string, query: URLSearchParams) => Promise<HTMLElement>;
const PAGES: Record<string, Page> = {
  cases: casesPage, case: casePage, 'new-request': newRequestPage, 'new-registration': newRegistrationPage,
  'care-plans': carePlansPage, 'care-plan': carePlanPage, 'new-care-plan': newCarePlanPage, partner: partnerPage, password: passwordPage,
  dashboard: dashboardPage,
  // Charts (ECharts) load only when the reports are opened, so the other pages paint sooner.
  reports: async (ctx, arg, query) => (await import('./pages/reports')).reportsPage(ctx, arg, query), partners: partnersPage, sla: slaPage, orders: ordersPage, users: usersPage,
};

export function notice(kind: 'error' | 'ok', message: string, fields: { path: string; message: string }[] = []): HTMLElement {
  return h('div', { className: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('p', {}, message),
    fields.length ? h('ul', {}, fields.map((f) => h('li', {}, `${f.path.replace(/^body\./, '')}: ${f.message}`))) : null);
}

function langSwitch(): HTMLElement {
  return h('button', { type: 'button', className: 'lang', 'data-testid': 'lang-switch', lang: t('lang.switch') === 'English' ? 'en' : 'zh-CN', onclick: () => switchLocale(render) }, t('lang.switch'));
}

function header(): HTMLElement {
  const nav = me ? h('nav', { 'aria-label': t('app.name') }, (NAV[me.role] ?? []).map(([href, key]) => h('a', { href, 'aria-current': location.hash.startsWith(href) ? 'page' : null }, t(key)))) : null;
  const who = me ? h('span', { className: 'who' }, `${me.user?.displayName ?? ''} · ${t(`role.${me.role}`)}`) : null;
  const logout = me ? h('button', { type: 'button', onclick: logOut }, t('action.logout')) : null;
  // Every person may change its own password (an API key has none).
  const password = me?.user ? h('a', { href: '#/password', className: 'password' }, t('action.changePassword')) : null;
  return h('header', {}, h('strong', { className: 'brand' }, t('app.name')), nav, h('div', { className: 'tools' }, who, password, langSwitch(), logout));
}

async function logOut(): Promise<void> {
  try { await api('DELETE', '/v1/session', undefined, { quiet401: true }); } catch { /* ended already */ }
  me = null;
  setCsrfToken(null);
  location.hash = '#/login';
  render();
}

async function loadMe(): Promise<void> {
  try {
    me = await api<Me>('GET', '/v1/session', undefined, { quiet401: true });
    setCsrfToken(me.csrfToken);
  } catch {
    me = null;
  }
}

let renderSeq = 0;
export async function render(): Promise<void> {
  const seq = ++renderSeq;
  const [path, qs] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, ...rest] = path.split('/');
  document.title = t('app.name');
  if (!me || name === 'login') {
    if (me && name === 'login') { location.hash = HOME[me.role]; return; }
    mount(root, header(), h('main', {}, loginPage(async (session) => { me = session; setCsrfToken(session.csrfToken); location.hash = HOME[session.role]; await render(); })));
    return;
  }
  const page = PAGES[name];
  if (!page) { location.hash = HOME[me.role]; return; }
  const main = h('main', { 'aria-busy': 'true' });
  mount(root, header(), main);
  const ctx: Ctx = { me, notice, go: (hash) => { location.hash = hash; } };
  try {
    const content = await page(ctx, rest.join('/'), new URLSearchParams(qs ?? ''));
    if (seq !== renderSeq) return;
    main.replaceChildren(content);
  } catch (err) {
    if (seq !== renderSeq) return;
    const { message, fields } = describeError(err);
    main.replaceChildren(notice('error', message, fields));
  }
  main.setAttribute('aria-busy', 'false');
}

whenSessionEnds(() => {
  me = null;
  setCsrfToken(null);
  mount(root, header(), h('main', {}, notice('error', t('session.ended')), loginPage(async (session) => { me = session; setCsrfToken(session.csrfToken); location.hash = HOME[session.role]; await render(); })));
});

window.addEventListener('hashchange', () => { void render(); });
void loadMe().then(render);
