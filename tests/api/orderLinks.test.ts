/**
 * Order links: a partner without an account takes an order from a link (/p/{token}); the link
 * is in the webhook body and in the staff view, acts through the same workflow updates, dies
 * when the order moves on or ends, after 30 days, and never reaches a log.
 */
import { DEPARTMENTS } from '../../src/domain/vocabulary';
import { eventually } from '../support/eventually';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let sim: PartnerSimulator;
let staff: string;
let partner: { id: string; key: string };
const sims: PartnerSimulator[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
  sims.push(sim);
  staff = await sys.createKey('staff');
  partner = await sys.createPartner({ name: '南湖志愿服务队', kind: 'volunteer_team', categories: ['daily_goods'], capacity: 10, webhookUrl: sim.url, webhookSecret: sim.secret });
}, 60_000);
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await sys?.stop();
});

const tokenOf = (url: string) => /\/p\/([A-Za-z0-9_-]+)$/.exec(url)![1];

async function dispatchedCase(description: string) {
  const created = await sys.call('POST', '/v1/service-requests', {
    key: staff, body: { resident: { name: '李奶奶', phone: '13800001111', community: sys.community, flags: ['elderly_alone'] }, category: 'daily_goods', description, urgency: 'normal', channel: 'home_visit' },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const webhook = await eventually(async () => sim.received.find((d) => d.body.caseId === id && d.event === 'order.dispatched'), { what: 'order.dispatched' }) as NonNullable<(typeof sim.received)[number]>;
  return { id, webhook };
}

it('puts the same link in the webhook body and the staff view, and the partner takes the order with it: accept, then complete', async () => {
  const { id, webhook } = await dispatchedCase('帮忙买米');
  const link = (webhook.body as Record<string, any>).links?.order as string;
  expect(link).toMatch(/\/p\/[A-Za-z0-9_-]{43}$/);
  expect(webhook.signatureValid).toBe(true);

  const staffView = await sys.call('GET', `/v1/service-requests/${id}`, { key: staff });
  expect(tokenOf(staffView.body.orderLink)).toBe(tokenOf(link));
  expect(Date.parse(staffView.body.orderLinkExpiresAt) - Date.now()).toBeGreaterThan(29 * 86400_000);
  expect((await sys.call('GET', `/v1/service-requests/${id}`, { key: partner.key })).body).not.toHaveProperty('orderLink');

  const token = tokenOf(link);
  const order = await sys.call('GET', `/v1/order-links/${token}`, { key: '' });
  expect(order.status).toBe(200);
  expect(order.body).toMatchObject({ caseId: id, caseType: 'service_request', kind: 'service_order', status: 'awaiting_ack', actions: ['accept', 'decline'] });
  expect(order.body.case.resident.name).toBe('李奶奶');

  // The workflow's own rules answer: completing before accepting is a 409 naming the state.
  const early = await sys.call('POST', `/v1/order-links/${token}/complete`, { key: '', body: { note: '还没接' } });
  expect(early.status).toBe(409);
  const accepted = await sys.call('POST', `/v1/order-links/${token}/accept`, { key: '', body: {} });
  expect(accepted.status).toBe(200);
  expect(accepted.body.status).toBe('in_progress');
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).body.actions).toEqual(['progress', 'complete']);
  const noNote = await sys.call('POST', `/v1/order-links/${token}/complete`, { key: '', body: {} });
  expect(noNote.status).toBe(400);
  expect(noNote.body.errors[0].path).toBe('body.note');
  const done = await sys.call('POST', `/v1/order-links/${token}/complete`, { key: '', body: { note: '米已送到', hoursSpent: 1 } });
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('awaiting_follow_up');

  // The order has ended: the link is dead.
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).status).toBe(404);
  expect((await sys.call('POST', `/v1/order-links/${token}/progress`, { key: '', body: { note: 'x' } })).status).toBe(404);

  // The timeline names the link as the actor; no log holds the token.
  const history = await sys.call('GET', `/v1/cases/${id}/history`);
  expect(history.body.items ?? history.body).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'accepted', actor: expect.stringMatching(/^partner:order-link:/) })]));
  await eventually(async () => (await sys.pool.query(`SELECT path FROM audit_log WHERE case_id = $1`, [id])).rows.map((r) => r.path as string),
    { accept: (paths: string[]) => paths.includes('/v1/order-links/[token]/complete'), what: 'redacted audit rows' });
  const leaked = await sys.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE path LIKE $1`, [`%${token}%`]);
  expect(leaked.rows[0].n).toBe(0);
});

it('dies when the order moves on (declined through the link), and after 30 days', async () => {
  const { id, webhook } = await dispatchedCase('修轮椅');
  const token = tokenOf((webhook.body as Record<string, any>).links.order);
  const declined = await sys.call('POST', `/v1/order-links/${token}/decline`, { key: '', body: { reason: '人手不够' } });
  expect(declined.status).toBe(200);
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).status).toBe(404);

  const second = await dispatchedCase('送药');
  const t2 = tokenOf((second.webhook.body as Record<string, any>).links.order);
  expect((await sys.call('GET', `/v1/order-links/${t2}`, { key: '' })).status).toBe(200);
  await sys.pool.query(`UPDATE order_links SET expires_at = now() - interval '1 second' WHERE case_id = $1`, [second.id]);
  expect((await sys.call('GET', `/v1/order-links/${t2}`, { key: '' })).status).toBe(404);
  expect((await sys.call('POST', `/v1/order-links/${t2}/accept`, { key: '', body: {} })).status).toBe(404);
  expect(id).not.toBe(second.id);
});

it('answers 404 for an unknown or malformed token, the same way', async () => {
  const unknown = await sys.call('GET', `/v1/order-links/${'A'.repeat(43)}`, { key: '' });
  const malformed = await sys.call('GET', '/v1/order-links/%3Cscript%3E', { key: '' });
  expect(unknown.status).toBe(404);
  expect(malformed.status).toBe(404);
  expect(unknown.body.detail).toBe(malformed.body.detail);
  expect((await sys.call('POST', `/v1/order-links/${'A'.repeat(43)}/accept`, { key: '', body: {} })).status).toBe(404);
});

it('lets a department answer its review from the link', async () => {
  const deps: Record<string, PartnerSimulator> = {};
  for (const d of DEPARTMENTS) {
    deps[d] = await startPartnerSimulator();
    sims.push(deps[d]);
    await sys.createPartner({ name: `辽源市${d}`, kind: 'department', department: d, categories: [], communities: [sys.community], webhookUrl: deps[d].url, webhookSecret: deps[d].secret });
  }
  const reg = await sys.call('POST', '/v1/registrations', {
    key: staff, body: {
      applicants: [{ name: '钱先生', idNumber: '220102198001011234', phone: '13500003333' }], property: { address: '人民大街 1 号' },
      businessType: 'change', documents: ['applicant_id', 'property_certificate', 'change_evidence'], delivery: 'window', community: sys.community,
    },
  });
  expect(reg.status).toBe(201);
  const request = await eventually(async () => deps.tax.received.find((d) => d.body.caseId === reg.body.id && d.event === 'review.requested'), { what: 'review.requested' }) as NonNullable<(typeof sim.received)[number]>;
  const token = tokenOf((request.body as Record<string, any>).links.order);
  const order = await sys.call('GET', `/v1/order-links/${token}`, { key: '' });
  expect(order.body).toMatchObject({ kind: 'review', caseType: 'registration', actions: ['review'], case: { department: 'tax' } });
  const answered = await sys.call('POST', `/v1/order-links/${token}/review`, { key: '', body: { approved: true } });
  expect(answered.status).toBe(200);
  expect(answered.body.reviews.tax.status).toBe('approved');
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).status).toBe(404);
});

it('localises problem titles and the summary CSV headers by Accept-Language (English by default)', async () => {
  const zh = await sys.call('GET', `/v1/order-links/${'A'.repeat(43)}`, { key: '', headers: { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' } });
  expect(zh.body.title).toBe('未找到');
  expect(zh.headers.get('content-language')).toBe('zh-CN');
  expect((await sys.call('GET', `/v1/order-links/${'A'.repeat(43)}`, { key: '' })).body.title).toBe('Not found');
  const csv = await fetch(`${sys.url}/v1/reports/summary?groupBy=category`, { headers: { authorization: `Bearer ${sys.adminKey}`, accept: 'text/csv', 'accept-language': 'zh-CN' } });
  const header = (await csv.text()).replace(/^\uFEFF/, '').split('\r\n')[0];
  expect(header.startsWith('类别,名称,案件数,已接单数,接单用时中位数（秒）')).toBe(true);
});
