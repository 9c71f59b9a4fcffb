/**
 * docs/domain.md's resident-request stories, carried through the REST API alone by a staff
 * member, partner systems (loopback webhook receivers that check signatures) and a
 * supervisor, with real timers on the real Temporal dev server.
 */
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let supervisor: string;
const sims: PartnerSimulator[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff');
  supervisor = await sys.createKey('supervisor');
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await sys?.stop();
});

async function partner(name: string, fields: Record<string, unknown> = {}) {
  const sim = await startPartnerSimulator();
  sims.push(sim);
  const p = await sys.createPartner({ name, webhookUrl: sim.url, webhookSecret: sim.secret, ...fields });
  return { ...p, sim };
}

async function open(body: Record<string, unknown>) {
  const res = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { name: '张大爷', phone: '13712345678', community: sys.community, address: '3栋2单元101' }, description: '需求', urgency: 'normal', channel: 'home_visit', ...body },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const get = async (id: string, key = staff) => (await sys.call('GET', `/v1/service-requests/${id}`, { key })).body;
const statusOf = (id: string, status: string) => eventually(() => get(id), { accept: (c) => c.status === status, what: `status ${status}` });
const history = async (id: string) => (await sys.call('GET', `/v1/cases/${id}/history`)).body as { seq: number; type: string; actor: string; data: any }[];
const act = (id: string, action: string, key: string, body: unknown = {}) => sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body });

it("an old man's power fails: the property company's repairman fixes it the same day", async () => {
  const property = await partner('南湖物业', { categories: ['housing'], hours: '24h' });
  const id = await open({ category: 'housing', urgency: 'urgent', description: '家里停电，独居老人' });

  const offered = await statusOf(id, 'awaiting_ack');
  expect(offered.assignedPartnerId).toBe(property.id);
  expect(offered.sla.fulfilmentTimeout).toBe('PT24H');
  const delivery = (await eventually(() => property.sim.received.find((d) => d.event === 'order.dispatched')))!;
  expect(delivery.signatureValid).toBe(true);
  expect(delivery.deliveryId).toBe(`service-request:${id}:1`);
  expect(delivery.body).toMatchObject({ caseId: id, caseType: 'service_request', orderId: offered.currentOrderId, case: { category: 'housing', urgency: 'urgent', resident: { phone: '13712345678' } } });
  // The partner has the order; the workflow records the delivery once the activity's answer is in.
  // Accepting before that is allowed too (the timeline then shows the accept first), but this story
  // is told in the order a person lives it.
  await eventually(() => history(id), { accept: (h) => h.some((e) => e.type === 'notification_delivered'), what: 'the delivery in the timeline' });

  expect((await act(id, 'accept', property.key)).body.status).toBe('in_progress');
  expect((await act(id, 'progress', property.key, { note: '缺少配件，师傅自己去买' })).status).toBe(200);
  const done = await act(id, 'complete', property.key, { note: '更换空气开关，已恢复供电', hoursSpent: 1.5 });
  expect(done.body).toMatchObject({ status: 'awaiting_follow_up', completion: { hoursSpent: 1.5 } });
  expect(done.body.deadlines.followUp).toBeDefined();

  expect((await act(id, 'follow-up', staff, { resolved: true, note: '回访：老人满意' })).body.status).toBe('awaiting_survey');
  const closed = await act(id, 'survey', staff, { score: 5, comment: '当天就修好了' });
  expect(closed.body).toMatchObject({ status: 'closed', outcome: 'satisfied' });

  const timeline = await eventually(() => history(id), { accept: (h) => h.some((e) => e.type === 'closed'), what: 'closed in the timeline' });
  expect(timeline.map((e) => e.type)).toEqual([
    'intake', 'dispatched', 'notification_delivered', 'accepted', 'progress', 'completed', 'follow_up', 'survey', 'closed',
  ]);
  expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, i) => i + 1));
  expect(timeline.find((e) => e.type === 'accepted')!.actor).toMatch(/^partner:/);
  expect(timeline.find((e) => e.type === 'notification_delivered')!.data.attemptLog).toEqual([expect.objectContaining({ attempt: 1, httpStatus: 200 })]);

  const orders = await sys.call('GET', '/v1/partners/me/orders', { key: property.key });
  expect(orders.body.items).toEqual([expect.objectContaining({ caseId: id, status: 'completed', caseStatus: 'closed' })]);
});

it('an unanswered order is reminded, moves to the next partner, escalates, and a supervisor assigns it', async () => {
  const put = await sys.call('PUT', '/v1/sla-policies', {
    key: supervisor,
    body: { caseType: 'service_request', category: 'employment', urgency: 'urgent', reminderAfter: 'PT1S', ackTimeout: 'PT2S', maxDispatchAttempts: 2 },
  });
  expect(put.status).toBe(200);
  const first = await partner('就业服务站', { kind: 'social_org', categories: ['employment'] });
  const second = await partner('人社志愿队', { kind: 'volunteer_team', categories: ['employment'] });
  const manual = await partner('街道就业中心', { kind: 'co_building_unit', categories: ['culture'] });
  const id = await open({ category: 'employment', urgency: 'urgent', description: '失业求助' });

  const escalated = await statusOf(id, 'escalated');
  expect(escalated.dispatchAttempts).toBe(2);
  for (const p of [first, second]) {
    expect(p.sim.received.map((d) => d.event)).toEqual(['order.dispatched', 'order.reminder', 'order.withdrawn']);
    expect(new Set(p.sim.received.map((d) => d.body.orderId)).size).toBe(1);
  }

  // Out of escalated, a supervisor assigns by hand, even to a partner of another category.
  expect((await act(id, 'assign', staff, { partnerId: manual.id })).status).toBe(403);
  const assigned = await act(id, 'assign', supervisor, { partnerId: manual.id });
  expect(assigned.body).toMatchObject({ status: 'in_progress', assignedPartnerId: manual.id });
  const notice = (await eventually(() => manual.sim.received.find((d) => d.event === 'order.dispatched')))!;
  expect(notice.body.case.assignedBy).toMatch(/^supervisor:/);

  const types = (await eventually(() => history(id), { accept: (h) => h.some((e) => e.type === 'assigned') })).map((e) => e.type);
  expect(types.filter((t) => t === 'reminder_sent')).toHaveLength(2);
  expect(types.filter((t) => t === 'ack_timeout')).toHaveLength(2);
  expect(types).toContain('escalated');
});

it('a declined order moves to the next partner at once; other partners may not touch it', async () => {
  const property = await partner('物业', { categories: ['culture'], capacity: 10 });
  const sports = await partner('健身器材企业', { kind: 'enterprise', categories: ['culture'], capacity: 10 });
  const id = await open({ category: 'culture', description: '小区需要健身器材' });

  const offered = await statusOf(id, 'awaiting_ack');
  const [holder, other] = offered.assignedPartnerId === property.id ? [property, sports] : [sports, property];
  expect((await act(id, 'accept', other.key)).status).toBe(403);
  expect((await sys.call('GET', `/v1/service-requests/${id}`, { key: other.key })).status).toBe(403);
  const early = await act(id, 'complete', holder.key, { note: 'x' });
  expect(early.status).toBe(409);
  expect(early.body.state).toBe('awaiting_ack');

  expect((await act(id, 'decline', holder.key, { reason: '不属于我们的业务，转给共建企业' })).body.status).toBe('dispatching');
  const moved = await eventually(() => get(id), { accept: (c) => c.status === 'awaiting_ack' && c.assignedPartnerId === other.id });
  expect(moved.dispatchAttempts).toBe(2);
  expect((await act(id, 'accept', other.key)).body.status).toBe('in_progress');
});

it('an unresolved follow-up reopens the case and dispatches it again; cancel withdraws the order', async () => {
  const clinic = await partner('社区卫生服务站', { kind: 'co_building_unit', categories: ['medical'] });
  const id = await open({ category: 'medical', description: '上门量血压' });
  await statusOf(id, 'awaiting_ack');
  await act(id, 'accept', clinic.key);
  await act(id, 'complete', clinic.key, { note: '已上门', hoursSpent: 0.5 });
  const reopened = await act(id, 'follow-up', staff, { resolved: false, note: '血压仍高，需要复诊' });
  expect(reopened.body).toMatchObject({ status: 'dispatching', reopenCount: 1 });

  await statusOf(id, 'awaiting_ack');
  const cancelled = await act(id, 'cancel', staff, { reason: '居民已自行就医' });
  expect(cancelled.body.status).toBe('cancelled');
  await eventually(() => clinic.sim.received.find((d) => d.event === 'order.withdrawn'));
  expect((await act(id, 'accept', clinic.key)).status).toBe(403);
  const afterCancel = await act(id, 'survey', staff, { score: 3 });
  expect(afterCancel.status).toBe(409);
});

it('a partner whose system refuses the order (HTTP 400) is skipped as a failed dispatch', async () => {
  const broken = await partner('坏掉的对接', { categories: ['transport'], capacity: 10 });
  broken.sim.respond = () => 400;
  const id = await open({ category: 'transport', description: '就医接送' });
  const escalated = await statusOf(id, 'escalated');
  expect(escalated.dispatchAttempts).toBe(1);
  const timeline = await history(id);
  expect(timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['notification_failed', 'dispatch_failed', 'escalated']));
  expect(broken.sim.received).toHaveLength(1);
});
