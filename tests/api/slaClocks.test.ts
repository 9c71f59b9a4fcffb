/**
 * The escalation chain and holds through the real API, worker, Temporal dev server and
 * Postgres, in real time: a policy with steps PT0S, PT3S, PT6S makes an unanswered case climb
 * to level 3 with a signed escalation.raised webhook to the contact of each level; an
 * acknowledgement at level 2 stops another; a hold stops the fulfilment clock and resume
 * moves the deadline.
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
  // Policies are global: a category no other suite opens cases in.
  const put = await sys.call('PUT', '/v1/sla-policies', {
    body: {
      caseType: 'service_request', category: 'hardship', urgency: 'urgent', ackTimeout: 'PT1S', reminderAfter: 'PT1M', maxDispatchAttempts: 1,
      escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT3S' }, { level: 3, after: 'PT6S' }],
    },
  });
  if (put.status !== 200) throw new Error(`policy: ${JSON.stringify(put.body)}`);
}, 60_000);
afterAll(async () => {
  await sys?.pool.query(`DELETE FROM sla_policies WHERE category = 'hardship'`).catch(() => undefined);
  await Promise.all(sims.map((s) => s.stop()));
  await sys?.stop();
});

async function contact(level: number, community: string): Promise<PartnerSimulator> {
  const sim = await startPartnerSimulator();
  sims.push(sim);
  const res = await sys.call('POST', '/v1/escalation-contacts', {
    key: supervisor, body: { name: `level ${level}`, level, communities: [community], webhookUrl: sim.url, webhookSecret: sim.secret },
  });
  if (res.status !== 201) throw new Error(`contact: ${JSON.stringify(res.body)}`);
  return sim;
}

/** Urgent hardship cases get the fast steps above; normal ones the shipped defaults. */
async function openHardshipCase(community: string, urgency = 'urgent'): Promise<string> {
  const res = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { name: '李奶奶', phone: '13600001111', community }, category: 'hardship', description: '独居困难，需要帮扶', urgency, channel: 'phone' },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

const history = async (id: string) => (await sys.call('GET', `/v1/cases/${id}/history`, { key: staff })).body as { type: string; data: any }[];
const get = async (id: string) => (await sys.call('GET', `/v1/service-requests/${id}`, { key: staff })).body;

it('an unanswered case climbs to level 3, each level\'s contact getting a signed webhook without resident data', async () => {
  const community = `${sys.community}-climb`;
  const levels = [await contact(1, community), await contact(2, community), await contact(3, community)];
  const id = await openHardshipCase(community); // no partner serves hardship here: escalated at once

  const timeline = await eventually(() => history(id), {
    timeoutMs: 30_000, what: 'level 3', accept: (t) => t.some((e) => e.type === 'escalation_level_raised' && e.data.level === 3),
  });
  expect(timeline.filter((e) => e.type === 'escalation_raised').map((e) => e.data.level)).toEqual([1]);
  expect(timeline.filter((e) => e.type === 'escalation_level_raised').map((e) => e.data.level)).toEqual([2, 3]);
  for (const [i, sim] of levels.entries()) {
    const [delivery] = await eventually(async () => sim.received, { accept: (r) => r.length > 0, what: `level ${i + 1} webhook` });
    expect(delivery).toMatchObject({ event: 'escalation.raised', signatureValid: true });
    expect(delivery.body).toMatchObject({ caseId: id, caseType: 'service_request', level: i + 1, reason: 'no_partner', community });
    expect(JSON.stringify(delivery.body)).not.toMatch(/李奶奶|13600001111/);
    expect(sim.received).toHaveLength(1);
  }
  expect((await get(id)).escalation).toMatchObject({ level: 3, reason: 'no_partner' });
  const listed = await eventually(async () => (await sys.call('GET', `/v1/escalations?community=${encodeURIComponent(community)}`, { key: staff })).body.items, {
    accept: (items: any[]) => items.length === 1 && items[0].level === 3, what: 'the escalation listed at level 3',
  });
  expect(listed[0]).toMatchObject({ caseId: id, status: 'open', reason: 'no_partner' });
});

it('an acknowledgement at level 2 stops the climb; the list and the case show who took it on', async () => {
  const community = `${sys.community}-ack`;
  const third = (await contact(3, community));
  const id = await openHardshipCase(community);
  await eventually(() => history(id), { timeoutMs: 20_000, what: 'level 2', accept: (t) => t.some((e) => e.type === 'escalation_level_raised' && e.data.level === 2) });
  const ack = await sys.call('POST', `/v1/service-requests/${id}/escalation/acknowledge`, { key: supervisor, body: { note: '社区书记接手' } });
  expect(ack.status).toBe(200);
  expect(ack.body.escalation).toMatchObject({ level: 2, acknowledgedBy: expect.stringMatching(/^supervisor:/) });
  await new Promise((r) => setTimeout(r, 5000)); // past the third step's 6 s: nothing may happen
  expect((await history(id)).filter((e) => e.type === 'escalation_level_raised').map((e) => e.data.level)).toEqual([2]);
  expect(third.received).toEqual([]);
  const again = await sys.call('POST', `/v1/service-requests/${id}/escalation/acknowledge`, { key: supervisor, body: { note: 'again' } });
  expect(again.status).toBe(409);
  const listed = await eventually(async () => (await sys.call('GET', `/v1/escalations?status=acknowledged&community=${encodeURIComponent(community)}`, { key: staff })).body.items, {
    accept: (items: any[]) => items.length === 1, what: 'acknowledged escalation listed',
  });
  expect(listed[0]).toMatchObject({ caseId: id, level: 2, status: 'acknowledged' });
  const report = (await sys.call('GET', `/v1/reports/summary?community=${encodeURIComponent(community)}`, { key: supervisor })).body;
  expect(report.escalations).toMatchObject({ total: 1, byLevel: { 1: 0, 2: 1, 3: 0 }, byStatus: { acknowledged: 1 } });
  expect(report.escalations.timeToAcknowledge.cases).toBe(1);
  expect(report.escalations.timeToAcknowledge.median).toBeGreaterThanOrEqual(3);
});

it('a hold stops the fulfilment clock and resume moves the deadline; a hold out of progress is a 409', async () => {
  const sim = await startPartnerSimulator();
  sims.push(sim);
  const community = `${sys.community}-hold`;
  const p = await sys.createPartner({ name: '帮扶中心', categories: ['hardship'], communities: [community], webhookUrl: sim.url, webhookSecret: sim.secret });
  const id = await openHardshipCase(community, 'normal');
  await eventually(() => get(id), { accept: (c) => c.status === 'awaiting_ack', what: 'dispatched' });
  const early = await sys.call('POST', `/v1/service-requests/${id}/hold`, { key: p.key, body: { reason: 'resident_unavailable' } });
  expect(early.status).toBe(409);
  expect((await sys.call('POST', `/v1/service-requests/${id}/resume`, { key: staff, body: {} })).status).toBe(409);
  const accepted = await sys.call('POST', `/v1/service-requests/${id}/accept`, { key: p.key, body: {} });
  expect(accepted.status).toBe(200);
  const before = Date.parse(accepted.body.deadlines.fulfilment);

  const held = await sys.call('POST', `/v1/service-requests/${id}/hold`, { key: p.key, body: { reason: 'awaiting_parts', note: '等配件' } });
  expect(held.status).toBe(200);
  expect(held.body.onHold).toMatchObject({ reason: 'awaiting_parts', note: '等配件' });
  expect((await sys.call('POST', `/v1/service-requests/${id}/hold`, { key: staff, body: { reason: 'bad reason' } })).status).toBe(400);
  await new Promise((r) => setTimeout(r, 1500));
  const resumed = await sys.call('POST', `/v1/service-requests/${id}/resume`, { key: staff, body: {} });
  expect(resumed.status).toBe(200);
  expect(resumed.body.onHold).toBeNull();
  expect(resumed.body.held.count).toBe(1);
  expect(Date.parse(resumed.body.deadlines.fulfilment) - before).toBe(resumed.body.held.workingMs);
  expect(resumed.body.held.workingMs).toBeGreaterThanOrEqual(1500);
  const types = (await eventually(() => history(id), { accept: (t) => t.some((e) => e.type === 'hold_ended'), what: 'hold_ended' })).map((e) => e.type);
  expect(types).toEqual(expect.arrayContaining(['hold_started', 'hold_ended']));
  const report = await eventually(async () => (await sys.call('GET', `/v1/reports/summary?community=${encodeURIComponent(community)}`, { key: supervisor })).body, {
    accept: (r: any) => r.holds?.holds === 1, what: 'the hold in the report',
  });
  expect(report.holds.workingSeconds).toBeCloseTo(resumed.body.held.workingMs / 1000, 1);
});
