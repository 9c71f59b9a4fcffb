/**
 * Order links of care-plan visits (kind `visit`), against the real system: the link comes in
 * visit.scheduled, the carer checks in and out with it (the same workflow Updates as the
 * partner routes, the hours counted in the plan), and the link then answers 404; a visit's
 * link also dies when the plan changes partner.
 */
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let carers: { id: string; key: string; sim: PartnerSimulator };
let others: { id: string; key: string; sim: PartnerSimulator };

async function partnerWithSim(fields: Record<string, unknown>) {
  const sim = await startPartnerSimulator();
  return { ...(await sys.createPartner({ webhookUrl: sim.url, webhookSecret: sim.secret, ...fields })), sim };
}

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff', { communities: [sys.community] });
  carers = await partnerWithSim({ name: '夕阳红养老服务中心', kind: 'social_org', categories: ['medical'] });
  others = await partnerWithSim({ name: '邻里互助队', kind: 'volunteer_team', categories: ['medical'] });
}, 60_000);
afterAll(async () => {
  await Promise.all([carers, others].map((p) => p?.sim.stop()));
  await sys?.stop();
});

const iso = (ms: number) => new Date(ms).toISOString();
/** Wait for an instant of the clock: check-in opening is a time, not a state to poll. */
const clockAt = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
const tokenOf = (url: string) => /\/p\/([A-Za-z0-9_-]+)$/.exec(url)![1];

async function openPlan(firstVisitInMs: number) {
  const created = await sys.call('POST', '/v1/care-plans', {
    key: staff, body: {
      resident: { name: '张奶奶', phone: '13900001111', community: sys.community, address: '5号楼1单元302', flags: ['elderly_alone'] },
      partnerId: carers.id, services: ['rehab_massage', 'health_monitoring'],
      schedule: { firstVisitAt: iso(Date.now() + firstVisitInMs), every: 'PT1H', visitLength: 'PT1S', lateAfter: 'PT30S', missedAfter: 'PT60S' },
    },
  });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

const visitLink = async (planId: string, visitId: string) => {
  const d = await eventually(async () => carers.sim.received.find((r) => r.event === 'visit.scheduled' && r.body.caseId === planId && r.body.orderId === visitId), { what: `visit.scheduled ${visitId}`, timeoutMs: 30_000 });
  expect(d!.signatureValid).toBe(true);
  const link = (d!.body as Record<string, any>).links?.order as string;
  expect(link).toMatch(/\/p\/[A-Za-z0-9_-]{43}$/);
  return tokenOf(link);
};

it('checks a visit in and out through its link, counts the hours, then the link answers 404', async () => {
  const id = await openPlan(6000);
  const token = await visitLink(id, 'visit-1');

  const order = await sys.call('GET', `/v1/order-links/${token}`, { key: '' });
  expect(order.status).toBe(200);
  expect(order.body).toMatchObject({ caseId: id, caseType: 'care_plan', kind: 'visit', orderId: 'visit-1', status: 'scheduled', actions: ['check-in'] });
  expect(order.body.case).toMatchObject({ planId: id, visitId: 'visit-1', services: ['rehab_massage', 'health_monitoring'], resident: { name: '张奶奶', address: '5号楼1单元302' } });
  expect(Number.isNaN(Date.parse(order.body.case.dueAt))).toBe(false);

  // The workflow's own rules answer through the link: check-out before check-in is a 409; a body without a carer a 400 naming it.
  const early = await sys.call('POST', `/v1/order-links/${token}/check-out`, { key: '', body: { services: ['rehab_massage'] } });
  expect(early.status).toBe(409);
  const noCarer = await sys.call('POST', `/v1/order-links/${token}/check-in`, { key: '', body: {} });
  expect(noCarer.status).toBe(400);
  expect(noCarer.body.errors.map((e: any) => e.path)).toContain('body.carer');
  expect((await sys.call('POST', `/v1/order-links/${token}/accept`, { key: '' })).status).toBe(400);

  await clockAt(Date.parse(order.body.case.checkInFrom ?? order.body.case.dueAt) + 200);
  const checkedIn = await sys.call('POST', `/v1/order-links/${token}/check-in`, { key: '', body: { carer: '李护工', location: { lat: 43.88, lng: 125.32 } } });
  expect(checkedIn.status).toBe(200);
  const during = await sys.call('GET', `/v1/order-links/${token}`, { key: '' });
  expect(during.body).toMatchObject({ status: 'in_progress', actions: ['check-out'] });

  await clockAt(Date.now() + 1500);
  const out = await sys.call('POST', `/v1/order-links/${token}/check-out`, { key: '', body: { services: ['rehab_massage'], note: '按摩30分钟' } });
  expect(out.status).toBe(200);
  const plan = await sys.call('GET', `/v1/care-plans/${id}`, { key: staff });
  expect(plan.body.visits.completed).toBe(1);
  expect(plan.body.hoursTotal).toBeGreaterThan(0);

  // The visit is over: the link is dead for reading and acting alike.
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).status).toBe(404);
  expect((await sys.call('POST', `/v1/order-links/${token}/check-in`, { key: '', body: { carer: '李护工' } })).status).toBe(404);

  // The timeline names the link as the actor, like the partner's own route would name its key.
  const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`, { key: staff })).body as any[], {
    accept: (h) => h.some((e) => e.type === 'visit_checked_out'), what: 'history',
  });
  expect(history.find((e) => e.type === 'visit_checked_in')?.actor).toBe('partner:order-link:visit-1');
}, 90_000);

it('a scheduled visit\'s link dies when the plan changes partner', async () => {
  const id = await openPlan(600_000);
  const token = await visitLink(id, 'visit-1');
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).status).toBe(200);
  const changed = await sys.call('PATCH', `/v1/care-plans/${id}`, { key: staff, body: { partnerId: others.id } });
  expect(changed.status).toBe(200);
  expect((await sys.call('GET', `/v1/order-links/${token}`, { key: '' })).status).toBe(404);
  expect((await sys.call('POST', `/v1/order-links/${token}/check-in`, { key: '', body: { carer: '李护工' } })).status).toBe(404);
  // The visit moved to the new partner, and with it comes a link of its own.
  const moved = await eventually(async () => others.sim.received.find((r) => r.event === 'visit.scheduled' && r.body.caseId === id), { what: 'visit.scheduled to the new partner' });
  const newToken = tokenOf((moved!.body as Record<string, any>).links.order);
  expect(newToken).not.toBe(token);
  expect((await sys.call('GET', `/v1/order-links/${newToken}`, { key: '' })).body).toMatchObject({ kind: 'visit', status: 'scheduled', actions: ['check-in'] });
}, 60_000);
