/**
 * 一人一策, the care-plan workflow, on the time-skipping test server with the activities
 * faked in memory (tests/workflow/carePlanTestBed.ts). The resident is 张奶奶, 82, living
 * alone; the eldercare company's carers visit her every week for rehabilitation massage and
 * health monitoring, and a handrail is to be fitted in her bathroom.
 *
 * `RECORD_HISTORIES=1 npx jest tests/workflow/carePlan.test.ts` also writes the histories of
 * the plan's shapes to tests/replay/histories/ (see tests/replay/replay.test.ts).
 */
import type { CarePlanIntake } from '../../src/domain/carePlan';
import { visitIdOf } from '../../src/domain/carePlan';
import { type CarePlanCase, type CarePlanTestBed, DAY, HOUR, MINUTE, rejection, startCarePlanTestBed, WEEK } from './carePlanTestBed';
import { writeCaseHistories } from './caseTestBed';

const ELDERCARE = 'eldercare-company';
const NEIGHBOURS = 'neighbourhood-carers';

let bed: CarePlanTestBed;
beforeAll(async () => { bed = await startCarePlanTestBed(); });
afterAll(async () => { await bed?.stop(); });

const iso = (ms: number) => new Date(ms).toISOString();

/** Weekly from tomorrow 09:00 (workflow time), an hour each; late after 30 minutes, missed after 4 hours. */
function grandmaZhang(now: number, extra: Partial<CarePlanIntake> = {}): CarePlanIntake {
  return {
    resident: { name: '张奶奶', phone: '13900001111', community: '幸福社区', address: '5号楼1单元302', flags: ['elderly_alone'] },
    partnerId: ELDERCARE,
    services: ['rehab_massage', 'health_monitoring'],
    schedule: { firstVisitAt: iso(now + DAY), every: 'P7D', visitLength: 'PT1H', lateAfter: 'PT30M', missedAfter: 'PT4H' },
    ...extra,
  };
}

/** With RECORD_HISTORIES=1, the plan's histories (first, second and last run when it continued) go to tests/replay/histories. */
async function recordHistoryIfAsked(name: string, c: CarePlanCase): Promise<void> {
  if (process.env.RECORD_HISTORIES === '1') await writeCaseHistories(bed.env, name, c.handle.workflowId);
}

/** Every event the read model got, numbered 1..n without gaps or repeats (across runs too). */
function expectContiguousTimeline(c: CarePlanCase): void {
  expect(c.world.timeline.map((e) => e.seq)).toEqual(c.world.timeline.map((_, i) => i + 1));
}

describe('a care plan', () => {
  it('schedules weekly visits; a visit checked in and out counts its hours, a late one is flagged, a missed one escalated, a cancelled one not counted', async () => {
    const c = await bed.open((now) => grandmaZhang(now, { installations: [{ item: 'anti_fall_handrail', note: '卫生间' }] }));
    const w = c.world;

    // Visit 1 is scheduled at once and the partner told, with what it needs to serve.
    const v1 = await w.scheduledVisit(visitIdOf(1));
    expect(v1).toMatchObject({ status: 'scheduled', partnerId: ELDERCARE, late: false, plannedServices: ['rehab_massage', 'health_monitoring'] });
    const scheduled = await w.until('visit.scheduled', () => w.sent(ELDERCARE, 'visit.scheduled')[0]);
    expect(scheduled.case).toMatchObject({ visitId: 'visit-1', dueAt: v1.dueAt, resident: { name: '张奶奶', address: '5号楼1单元302' } });

    // The installation opened a service request of category housing, dispatched as usual.
    const requested = await w.waitForEvent('installation_requested');
    const srId = requested.data.serviceRequestId as string;
    const sr = bed.serviceRequest(srId);
    await sr.until('the request dispatched', () => sr.events('dispatched')[0]);
    expect(sr.events('intake')[0].data).toMatchObject({ category: 'housing', community: '幸福社区' });
    expect((await c.state()).installations).toEqual([{ item: 'anti_fall_handrail', note: '卫生间', serviceRequestId: srId, status: 'requested' }]);

    // Too early, another partner, check-out before check-in: refused, nothing changes.
    expect(await rejection(c.checkIn('visit-1', ELDERCARE))).toMatchObject({ type: 'InvalidCaseState', message: expect.stringContaining('not due') });
    await bed.advanceTo(Date.parse(v1.dueAt) + 5 * MINUTE);
    await w.scheduledVisit('visit-2');
    expect(await rejection(c.checkIn('visit-1', NEIGHBOURS))).toMatchObject({ type: 'NotYourOrder' });
    expect(await rejection(c.checkOut('visit-1', ELDERCARE))).toMatchObject({ type: 'InvalidCaseState', message: expect.stringContaining('check in first') });

    await c.checkIn('visit-1', ELDERCARE, '李护工', { lat: 43.88, lng: 125.32 });
    expect(await rejection(c.checkOut('visit-1', ELDERCARE, ['housekeeping']))).toMatchObject({ type: 'InvalidCaseAction', message: expect.stringContaining('housekeeping') });
    await bed.advance(75 * MINUTE);
    let state = await c.checkOut('visit-1', ELDERCARE, ['rehab_massage', 'health_monitoring'], '血压正常');
    expect(state).toMatchObject({ visits: { completed: 1, missed: 0, cancelled: 0, late: 0 } });
    expect(state.hoursTotal).toBeCloseTo(1.25, 2);
    const done = await w.waitForVisit('visit-1', (v) => v.status === 'completed');
    expect(done).toMatchObject({ carer: '李护工', location: { lat: 43.88, lng: 125.32 }, services: ['rehab_massage', 'health_monitoring'], hours: 1.25 });
    // Workflow time moves on by the real milliseconds between the test's calls too.
    expect(done.durationMs! - 75 * MINUTE).toBeGreaterThanOrEqual(0);
    expect(done.durationMs! - 75 * MINUTE).toBeLessThan(5000);

    // Visit 2 was scheduled when visit 1 came due. Nobody comes by dueAt + 30 min: late; checked in after.
    const v2 = await w.scheduledVisit('visit-2');
    expect(Date.parse(v2.dueAt) - Date.parse(v1.dueAt)).toBe(WEEK);
    await bed.advanceTo(Date.parse(v2.dueAt) + 45 * MINUTE);
    await w.waitForVisit('visit-2', (v) => v.late, 'late');
    await w.told('visit.late', 'visit-2');
    await w.scheduledVisit('visit-3');
    expect(w.sent(ELDERCARE, 'visit.late').map((x) => x.orderId)).toEqual(['visit-2']);
    await c.checkIn('visit-2', ELDERCARE);
    await bed.advance(HOUR);
    state = await c.checkOut('visit-2', ELDERCARE, ['rehab_massage']);
    expect(state).toMatchObject({ visits: { completed: 2, late: 1 } });
    // Real seconds pass between the test's steps on the time-skipping server too.
    expect(state.hoursTotal).toBeCloseTo(2.25, 2);

    // Visit 3: nobody by dueAt + 4 h: missed, the partner told, an escalation raised (in the case and its deadlines).
    const v3 = await w.scheduledVisit('visit-3');
    await bed.advanceTo(Date.parse(v3.dueAt) + 4 * HOUR + MINUTE);
    await w.waitForVisit('visit-3', (v) => v.status === 'missed', 'missed');
    await w.told('visit.missed', 'visit-3');
    await w.waitForEvent('escalation_raised');
    state = await c.state();
    expect(state.escalation).toMatchObject({ level: 1, reason: 'visit_missed', visitId: 'visit-3' });
    expect(w.sent(ELDERCARE, 'visit.missed').map((x) => x.orderId)).toEqual(['visit-3']);
    const row = await w.until('case row overdue', () => (w.lastSnapshot?.overdue ? w.lastSnapshot : undefined));
    // The next climb of the chain (the default steps: level 2 four hours after the miss).
    expect(row.deadlines.escalation).toBe(state.escalation!.nextLevelAt);
    expect(await rejection(c.checkIn('visit-3', ELDERCARE))).toMatchObject({ type: 'InvalidCaseState' });
    await c.acknowledge('已电话联系养老公司');
    await w.waitForEvent('escalation_acknowledged');

    // Visit 4: cancelled by staff (the resident is in hospital): not a miss, no hours.
    const v4 = await w.scheduledVisit('visit-4');
    state = await c.cancelVisit('visit-4', '住院');
    expect(state.visits).toEqual({ completed: 2, missed: 1, cancelled: 1, late: 1 });
    await bed.advanceTo(Date.parse(v4.dueAt) + 5 * HOUR);
    await w.scheduledVisit('visit-5');
    expect(w.visit('visit-4')).toMatchObject({ status: 'cancelled', cancelReason: '住院', late: false });

    // Visit 5 done: the escalation is resolved.
    const v5 = await w.scheduledVisit('visit-5');
    await bed.advanceTo(Date.parse(v5.dueAt));
    await w.scheduledVisit('visit-6');
    await c.checkIn('visit-5', ELDERCARE);
    await bed.advance(HOUR);
    state = await c.checkOut('visit-5', ELDERCARE);
    expect(state.escalation).toBeNull();

    // The handrail's request is cancelled before the plan ends: the time-skipping test server stops
    // skipping time once a parent closes over a running child (the real server does not; tests/api cover it).
    await c.cancelInstallations();
    await sr.waitForStatus('cancelled');
    state = await c.end('居民搬去女儿家');
    expect(state).toMatchObject({ status: 'ended', visits: { completed: 3, missed: 1, cancelled: 2, late: 1 } });
    expect(state.hoursTotal).toBeCloseTo(3.25, 2);
    const final = await c.result();
    expect(final.status).toBe('ended');
    expect(w.sent(ELDERCARE, 'plan.ended')).toHaveLength(1);
    expect(w.visit('visit-6')).toMatchObject({ status: 'cancelled', cancelReason: 'the plan has ended' });
    expectContiguousTimeline(c);
    await recordHistoryIfAsked('care-plan-visit-cycle', c);

  });

  it('a change applies from the next visit: re-timed, moved to the new partner, both partners told', async () => {
    const c = await bed.open((now) => grandmaZhang(now));
    const w = c.world;
    const v1 = await w.scheduledVisit('visit-1');
    await bed.advanceTo(Date.parse(v1.dueAt));
    const v2 = await w.scheduledVisit('visit-2');
    await c.checkIn('visit-1', ELDERCARE);

    // Every two weeks from now on, by the neighbourhood carers; visit 1 (in progress) stays with the eldercare company.
    let state = await c.change({ schedule: { every: 'P14D' }, partnerId: NEIGHBOURS, services: ['health_monitoring'] });
    expect(state).toMatchObject({ partnerId: NEIGHBOURS, services: ['health_monitoring'], schedule: { every: 'P14D' } });
    const moved = await w.waitForVisit('visit-2', (v) => v.partnerId === NEIGHBOURS);
    expect(moved).toMatchObject({ dueAt: v2.dueAt, plannedServices: ['health_monitoring'], status: 'scheduled' });
    await w.until('plan.changed to both', () => w.sent(ELDERCARE, 'plan.changed').length && w.sent(NEIGHBOURS, 'plan.changed').length);
    expect(w.sent(NEIGHBOURS, 'visit.scheduled').map((x) => x.orderId)).toEqual(['visit-2']);
    expect(w.sent(ELDERCARE, 'visit.cancelled').map((x) => x.orderId)).toEqual(['visit-2']);

    await bed.advance(HOUR);
    await c.checkOut('visit-1', ELDERCARE);
    await bed.advanceTo(Date.parse(v2.dueAt));
    await w.scheduledVisit('visit-3');
    expect(await rejection(c.checkIn('visit-2', ELDERCARE))).toMatchObject({ type: 'NotYourOrder' });
    await c.checkIn('visit-2', NEIGHBOURS);
    await bed.advance(HOUR);
    await c.checkOut('visit-2', NEIGHBOURS, ['health_monitoring']);
    const v3 = w.visit('visit-3')!;
    expect(Date.parse(v3.dueAt) - Date.parse(v2.dueAt)).toBe(2 * WEEK);

    // A schedule that makes no sense is refused, naming the field.
    expect(await rejection(c.change({ schedule: { every: 'PT30M' } }))).toMatchObject({ type: 'InvalidCaseAction', message: expect.stringContaining('schedule.every') });
    expect(await rejection(c.change({ schedule: { lateAfter: 'PT5H' } }))).toMatchObject({ message: expect.stringContaining('schedule.lateAfter') });
    state = await c.end('test over');
    expect(state.status).toBe('ended');
    await c.result();
    await recordHistoryIfAsked('care-plan-changed', c);
  });

  it('continued as new every few visits, it keeps its visits, hours and numbering', async () => {
    const c = await bed.open((now) => grandmaZhang(now), { continueAsNewAfterEvents: 100 });
    const w = c.world;
    for (let n = 1; n <= 6; n++) {
      const v = await w.scheduledVisit(visitIdOf(n));
      await bed.advanceTo(Date.parse(v.dueAt));
      await w.scheduledVisit(visitIdOf(n + 1));
      await c.checkIn(v.visitId, ELDERCARE);
      await bed.advance(HOUR);
      await c.checkOut(v.visitId, ELDERCARE);
    }
    const state = await c.end('test over');
    expect(state).toMatchObject({ status: 'ended', visits: { completed: 6, cancelled: 1 } });
    expect(state.hoursTotal).toBeCloseTo(6, 3);
    await c.result();
    const runs = await c.runs();
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expectContiguousTimeline(c);
    expect([...w.visits.values()].map((v) => v.status)).toEqual([...Array(6).fill('completed'), 'cancelled']);
    await recordHistoryIfAsked('care-plan-continued-as-new', c);
  });

  it('ended before its first visit came due: cancelled', async () => {
    const c = await bed.open((now) => grandmaZhang(now));
    await c.world.waitForVisit('visit-1');
    expect(await c.end('家属改为自行照护')).toMatchObject({ status: 'cancelled', visits: { cancelled: 1 } });
    expect((await c.result()).status).toBe('cancelled');
  });
});

