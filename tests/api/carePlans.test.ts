/**
 * 一人一策 through the REST API alone, against the real system (Temporal dev server and
 * worker, Postgres, partner simulators checking every signature), in real time: a plan with
 * a visit every 8 s (late after 2 s, missed after 4 s), the acceptance story of issue 12 at
 * a faster pace: a visit checked in and out with its hours counted, a late one, a missed
 * one escalated, a cancelled one not counted, another partner refused, the handrail
 * dispatched as a service request, the hours in the report; and bad input refused.
 */
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let supervisor: string;
let carers: { id: string; key: string; sim: PartnerSimulator };
let others: { id: string; key: string; sim: PartnerSimulator };
let handyman: { id: string; key: string; sim: PartnerSimulator };

async function partnerWithSim(fields: Record<string, unknown>) {
  const sim = await startPartnerSimulator();
  return { ...(await sys.createPartner({ webhookUrl: sim.url, webhookSecret: sim.secret, ...fields })), sim };
}

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff', { communities: [sys.community] });
  supervisor = await sys.createKey('supervisor', { communities: [sys.community] });
  carers = await partnerWithSim({ name: '夕阳红养老服务中心', kind: 'social_org', categories: ['medical'] });
  others = await partnerWithSim({ name: '邻里互助队', kind: 'volunteer_team', categories: ['medical'] });
  handyman = await partnerWithSim({ name: '安居适老化改造公司', kind: 'enterprise', categories: ['housing'] });
}, 60_000);
afterAll(async () => {
  await Promise.all([carers, others, handyman].map((p) => p?.sim.stop()));
  await sys?.stop();
});

const iso = (ms: number) => new Date(ms).toISOString();
/** Wait for an instant of the clock: the visit's window is a time, not a state to poll. */
const clockAt = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

function plan(extra: Record<string, unknown> = {}, schedule: Record<string, unknown> = {}) {
  return {
    resident: { name: '张奶奶', phone: '13900001111', community: sys.community, address: '5号楼1单元302', flags: ['elderly_alone'] },
    partnerId: carers.id,
    services: ['rehab_massage', 'health_monitoring'],
    schedule: { firstVisitAt: iso(Date.now() + 6000), every: 'PT8S', visitLength: 'PT1S', lateAfter: 'PT2S', missedAfter: 'PT4S', ...schedule },
    ...extra,
  };
}

const visits = async (planId: string) => (await sys.call('GET', `/v1/care-plans/${planId}/visits`, { key: staff })).body.items as any[];
const visitNamed = (planId: string, visitId: string, accept: (v: any) => boolean, what: string) =>
  eventually(async () => (await visits(planId)).find((v) => v.visitId === visitId), { accept: (v) => !!v && accept(v), what, timeoutMs: 30_000 });

describe('a care plan through the API', () => {
  it('visits checked in and out count hours; late, missed (escalated), cancelled; another partner refused; the handrail dispatched; the hours in the report', async () => {
    const created = await sys.call('POST', '/v1/care-plans', { key: staff, body: plan({ installations: [{ item: 'anti_fall_handrail', note: '卫生间' }] }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', nextVisit: { visitId: 'visit-1' } });
    const id = created.body.id as string;

    // visit 1: scheduled, the partner told (signed); too early, another partner, check-out first: refused
    const v1 = await visitNamed(id, 'visit-1', () => true, 'visit-1 scheduled');
    const scheduled = await eventually(() => carers.sim.received.find((d) => d.event === 'visit.scheduled' && d.body.caseId === id), { what: 'visit.scheduled' });
    expect(scheduled).toMatchObject({ signatureValid: true, body: { caseType: 'care_plan', orderId: 'visit-1', case: { resident: { name: '张奶奶' } } } });
    const checkIn = (visitId: string, key: string) => sys.call('POST', `/v1/care-plans/${id}/visits/${visitId}/check-in`, { key, body: { carer: '李护工', location: { lat: 43.88, lng: 125.32 } } });
    const checkOut = (visitId: string, key: string) => sys.call('POST', `/v1/care-plans/${id}/visits/${visitId}/check-out`, { key, body: { services: ['rehab_massage'], note: '血压正常' } });
    const early = await checkIn('visit-1', carers.key);
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/not due/);
    expect((await checkIn('visit-1', others.key)).status).toBe(403);
    expect((await checkOut('visit-1', carers.key)).status).toBe(409);
    expect((await checkIn('visit-99', carers.key)).status).toBe(404);

    // the handrail: a linked service request of category housing, dispatched to the handyman
    const srId = await eventually(async () => (await sys.call('GET', `/v1/care-plans/${id}`, { key: staff })).body.installations[0]?.serviceRequestId, { what: 'installation opened' });
    const sr = await eventually(async () => (await sys.call('GET', `/v1/service-requests/${srId}`, { key: staff })).body, {
      accept: (c: any) => c.status === 'awaiting_ack', what: 'installation dispatched',
    });
    expect(sr).toMatchObject({ category: 'housing', assignedPartnerId: handyman.id });
    expect((await sys.call('GET', `/v1/care-plans/${id}`, { key: staff })).body.installations[0]).toMatchObject({ item: 'anti_fall_handrail', status: 'awaiting_ack' });

    await clockAt(Date.parse(v1.dueAt) + 200);
    expect((await checkIn('visit-1', carers.key)).status).toBe(200);
    await clockAt(Date.now() + 1500);
    const out1 = await checkOut('visit-1', carers.key);
    expect(out1.status).toBe(200);
    expect(out1.body.hoursTotal).toBeGreaterThan(0);
    const done1 = await visitNamed(id, 'visit-1', (v) => v.status === 'completed', 'visit-1 completed');
    expect(done1).toMatchObject({ carer: '李护工', location: { lat: 43.88, lng: 125.32 }, services: ['rehab_massage'], late: false });
    expect(Date.parse(done1.checkOutAt) - Date.parse(done1.checkInAt)).toBeGreaterThanOrEqual(1500);

    // visit 2: nobody by dueAt + 2 s: late (the partner told), then checked in and out
    await visitNamed(id, 'visit-2', (v) => v.late, 'visit-2 late');
    await eventually(() => carers.sim.received.find((d) => d.event === 'visit.late' && d.body.caseId === id), { what: 'visit.late' });
    expect((await checkIn('visit-2', carers.key)).status).toBe(200);
    await clockAt(Date.now() + 1000);
    expect((await checkOut('visit-2', carers.key)).status).toBe(200);

    // visit 3: nobody by dueAt + 4 s: missed, the partner told, an escalation in the case and in /v1/timeouts
    await visitNamed(id, 'visit-3', (v) => v.status === 'missed', 'visit-3 missed');
    await eventually(() => carers.sim.received.find((d) => d.event === 'visit.missed' && d.body.caseId === id), { what: 'visit.missed' });
    const escalated = await eventually(async () => (await sys.call('GET', `/v1/care-plans/${id}`, { key: staff })).body, { accept: (p: any) => p.escalation?.visitId === 'visit-3', what: 'escalation' });
    expect(escalated.escalation).toMatchObject({ level: 1, reason: 'visit_missed' });
    // On the escalation chain (the default care-plan policy: PT0S, PT4H, P1D): its next climb is the deadline.
    expect(Date.parse(escalated.escalation.nextLevelAt) - Date.parse(escalated.escalation.since)).toBe(4 * 3_600_000);
    const timeouts = await eventually(async () => (await sys.call('GET', '/v1/timeouts?within=PT5H&type=care_plan', { key: supervisor })).body.items as any[], {
      accept: (items) => items.some((d) => d.caseId === id && d.kind === 'escalation'), what: 'escalation in /v1/timeouts',
    });
    expect(timeouts.find((d: any) => d.caseId === id && d.kind === 'escalation')).toMatchObject({
      breached: false, caseType: 'care_plan', dueAt: escalated.escalation.nextLevelAt,
    });
    const chain = await eventually(async () => (await sys.call('GET', `/v1/escalations?caseType=care_plan&community=${encodeURIComponent(sys.community)}`, { key: supervisor })).body.items as any[], {
      accept: (items) => items.some((e) => e.caseId === id), what: 'the escalation listed',
    });
    expect(chain.find((e) => e.caseId === id)).toMatchObject({ reason: 'care_visit_missed', level: 1, status: 'open', nextLevelAt: escalated.escalation.nextLevelAt });

    // visit 4: cancelled by staff: not a miss, no hours
    await visitNamed(id, 'visit-4', () => true, 'visit-4 scheduled');
    const cancelled = await sys.call('POST', `/v1/care-plans/${id}/visits/visit-4/cancel`, { key: staff, body: { reason: '住院' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.visits).toMatchObject({ completed: 2, missed: 1, cancelled: 1 });
    expect((await sys.call('POST', `/v1/care-plans/${id}/visits/visit-4/cancel`, { key: staff, body: { reason: '再次' } })).status).toBe(409);

    const ended = await sys.call('POST', `/v1/care-plans/${id}/end`, { key: staff, body: { reason: '居民搬去女儿家' } });
    expect(ended.status).toBe(200);
    expect(ended.body.status).toBe('ended');
    const hoursTotal = ended.body.hoursTotal as number;
    await eventually(() => carers.sim.received.find((d) => d.event === 'plan.ended' && d.body.caseId === id), { what: 'plan.ended' });

    // the read model: visits, list, history, roster, report
    const all = await eventually(() => visits(id), { accept: (vs) => vs.every((v) => v.status !== 'scheduled'), what: 'visits settled' });
    // newest first
    expect(all.map((v) => v.visitId)).toEqual([...all].sort((a, b) => Date.parse(b.dueAt) - Date.parse(a.dueAt)).map((v) => v.visitId));
    expect(all.at(-1).visitId).toBe('visit-1');
    expect(Object.fromEntries(all.map((v) => [v.visitId, v.status]))).toMatchObject({ 'visit-1': 'completed', 'visit-2': 'completed', 'visit-3': 'missed', 'visit-4': 'cancelled' });
    const listed = await sys.call('GET', '/v1/cases?type=care_plan', { key: staff });
    expect(listed.body.items.map((c: any) => c.id)).toContain(id);
    const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`, { key: staff })).body as any[], {
      accept: (h) => h.some((e) => e.type === 'plan_ended'), what: 'history',
    });
    expect(history.map((e) => e.type)).toEqual(expect.arrayContaining(['intake', 'visit_scheduled', 'visit_checked_in', 'visit_checked_out', 'visit_late', 'visit_missed', 'escalation_raised', 'visit_cancelled', 'plan_ended']));
    const roster = await sys.call('GET', `/v1/partners/me/visits?from=${iso(Date.now() - 3_600_000)}`, { key: carers.key });
    expect(roster.status).toBe(200);
    expect(roster.body.items.filter((v: any) => v.planId === id).map((v: any) => v.visitId)).toEqual(expect.arrayContaining(['visit-1', 'visit-2', 'visit-3', 'visit-4']));
    expect((await sys.call('GET', `/v1/partners/me/visits`, { key: others.key })).body.items.filter((v: any) => v.planId === id)).toEqual([]);

    const report = await sys.call('GET', '/v1/reports/care-hours?groupBy=plan', { key: supervisor });
    expect(report.status).toBe(200);
    const row = report.body.rows.find((r: any) => r.key === id);
    expect(row).toMatchObject({ plans: 1, visitsCompleted: 2, visitsMissed: 1 });
    expect(row.onTimeShare).toBeCloseTo(1 / 3);
    expect(row.hours).toBeCloseTo(hoursTotal, 2);
    const byPartner = await sys.call('GET', '/v1/reports/care-hours?groupBy=partner', { key: supervisor });
    expect(byPartner.body.rows.find((r: any) => r.key === carers.id)).toMatchObject({ label: '夕阳红养老服务中心', visitsCompleted: 2 });
  }, 120_000);

  it('bad input is refused with the field named, and nothing is stored', async () => {
    const count = async () => (await sys.call('GET', `/v1/cases?type=care_plan&limit=500`, { key: staff })).body.items.length as number;
    const before = await count();
    const bad = async (body: unknown, path: string) => {
      const res = await sys.call('POST', '/v1/care-plans', { key: staff, body });
      expect({ status: res.status, paths: (res.body.errors ?? []).map((e: any) => e.path) }).toEqual({ status: 400, paths: expect.arrayContaining([path]) });
    };
    await bad(plan({}, { every: 'PT30M', visitLength: 'PT1H' }), 'body.schedule.every');
    await bad(plan({}, { lateAfter: 'PT4S', missedAfter: 'PT4S' }), 'body.schedule.lateAfter');
    await bad(plan({}, { every: 'weekly' }), 'body.schedule.every');
    await bad(plan({}, { firstVisitAt: iso(Date.now() - 60_000) }), 'body.schedule.firstVisitAt');
    await bad(plan({ partnerId: 'no-such-partner' }), 'body.partnerId');
    const inactive = await partnerWithSim({ name: '已停用的机构', kind: 'social_org', categories: ['medical'], active: false });
    await bad(plan({ partnerId: inactive.id }), 'body.partnerId');
    await inactive.sim.stop();
    await bad(plan({ services: ['massage'] }), 'body.services.0');
    expect(await count()).toBe(before);

    // a PATCH that makes the schedule wrong names the field; pause and resume answer with the state
    const created = await sys.call('POST', '/v1/care-plans', { key: staff, body: plan({}, { firstVisitAt: iso(Date.now() + 3_600_000), every: 'P7D', visitLength: 'PT1H', lateAfter: 'PT30M', missedAfter: 'PT4H' }) });
    const id = created.body.id;
    const patched = await sys.call('PATCH', `/v1/care-plans/${id}`, { key: staff, body: { schedule: { visitLength: 'P8D' } } });
    expect(patched.status).toBe(400);
    expect(patched.body.errors.map((e: any) => e.path)).toContain('body.schedule.every');
    expect((await sys.call('PATCH', `/v1/care-plans/${id}`, { key: staff, body: { partnerId: 'no-such-partner' } })).status).toBe(400);
    expect((await sys.call('POST', `/v1/care-plans/${id}/resume`, { key: staff, body: {} })).status).toBe(409);
    const paused = await sys.call('POST', `/v1/care-plans/${id}/pause`, { key: staff, body: { reason: '住院' } });
    expect(paused.body.status).toBe('paused');
    const changed = await sys.call('PATCH', `/v1/care-plans/${id}`, { key: staff, body: { partnerId: others.id } });
    expect(changed.status).toBe(200);
    expect(changed.body.partnerId).toBe(others.id);
    expect((await sys.call('POST', `/v1/care-plans/${id}/end`, { key: staff, body: { reason: 'test over' } })).body.status).toBe('cancelled');
  }, 60_000);
});
