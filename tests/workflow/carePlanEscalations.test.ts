/**
 * A care plan's missed visits on the escalation chain (docs/care-plans.md, "Escalations"):
 * on the time-skipping test server with its clock started on Friday 16 October 2026
 * (tests/support/fakeClock.ts), the care-plan policy on `cn-office` with steps PT0S, PT1H,
 * PT2H. 张奶奶's carer does not come on Friday at noon Beijing time; the visit is missed at
 * 16:00, level 2 follows at 17:00, and level 3 only on Monday at 09:00 (16:00-17:30 on
 * Friday, then 08:30-09:00 on Monday: the weekend does not count).
 *
 * `RECORD_HISTORIES=1` also writes the histories of these shapes to tests/replay/histories/.
 */
import type { Pool } from 'pg';
import { withSlaClock } from '../../src/api/slaClock';
import type { CarePlanIntake, CarePlanWorkflowInput } from '../../src/domain/carePlan';
import { resolveCarePlanSla } from '../../src/domain/sla';
import { testServerStartingAt } from '../support/fakeClock';
import { type CarePlanCase, type CarePlanTestBed, type CarePlanWorld, HOUR, MINUTE, rejection, startCarePlanTestBed } from './carePlanTestBed';
import { writeCaseHistories } from './caseTestBed';

const ELDERCARE = 'eldercare-company';
const SECOND = 1000;

let bed: CarePlanTestBed;
afterEach(async () => { await bed?.stop(); });
jest.setTimeout(180_000);

/** Friday 16 October 2026, 12:00 Beijing; weekly; missed after 4 hours (16:00). */
const FIRST_VISIT = '2026-10-16T04:00:00Z';
function grandmaZhang(): CarePlanIntake {
  return {
    resident: { name: '张奶奶', phone: '13900001111', community: '幸福社区', address: '5号楼1单元302', flags: ['elderly_alone'] },
    partnerId: ELDERCARE, services: ['rehab_massage', 'health_monitoring'],
    schedule: { firstVisitAt: FIRST_VISIT, every: 'P7D', visitLength: 'PT1H', lateAfter: 'PT30M', missedAfter: 'PT4H' },
  };
}

/** The care-plan policy as intake snapshots it (the built-in calendars need no database). */
async function carePlanSla(): Promise<NonNullable<CarePlanWorkflowInput['sla']>> {
  const policy = resolveCarePlanSla([{
    caseType: 'care_plan', calendar: 'cn-office',
    escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT1H' }, { level: 3, after: 'PT2H' }],
  }]);
  return withSlaClock(undefined as unknown as Pool, policy, await bed.now(), false);
}

const withContacts = (w: CarePlanWorld) => {
  w.escalationContacts[1] = ['网格长'];
  w.escalationContacts[2] = ['社区书记'];
  w.escalationContacts[3] = ['街道办'];
};

async function openPlan(): Promise<CarePlanCase> {
  bed = await startCarePlanTestBed({ serverPath: await testServerStartingAt('2026-10-16T01:00:00Z') });
  const c = await bed.open(() => grandmaZhang(), { sla: await carePlanSla(), prepare: withContacts });
  await c.world.scheduledVisit('visit-1');
  return c;
}

/** `actual` is `expected` plus the sub-second offset of when the step happened (within 5 s). */
function expectAbout(actual: string | null | undefined, expected: string): void {
  const drift = Date.parse(actual!) - Date.parse(expected);
  expect({ actual, drift: drift >= 0 && drift < 5 * SECOND }).toEqual({ actual, drift: true });
}

const levelsRaised = (w: CarePlanWorld) => w.events('escalation_level_raised').map((e) => e.data.level);

/** Visit 1 missed at 16:00 Beijing, level 2 reached at 17:00. */
async function missedAndAtLevel2(c: CarePlanCase): Promise<void> {
  const w = c.world;
  await bed.advanceTo(Date.parse('2026-10-16T08:00:00Z') + MINUTE);
  await w.waitForVisit('visit-1', (v) => v.status === 'missed', 'missed');
  const raised = await w.waitForEvent('escalation_raised');
  expect(raised.data).toMatchObject({ reason: 'care_visit_missed', level: 1, escalation: 1 });
  expectAbout(raised.data.since as string, '2026-10-16T08:00:00Z');
  const state = await c.state();
  expect(state.escalation).toMatchObject({ level: 1, reason: 'visit_missed', visitId: 'visit-1' });
  // One working hour on cn-office: 17:00 Beijing the same Friday, the next climb and the case's escalation deadline.
  expectAbout(state.escalation!.nextLevelAt, '2026-10-16T09:00:00Z');
  const row = await w.until('case row with the escalation', () => (w.lastSnapshot?.deadlines.escalation ? w.lastSnapshot : undefined));
  expect(row).toMatchObject({ overdue: true, deadlines: { escalation: state.escalation!.nextLevelAt } });

  await bed.advanceTo(Date.parse('2026-10-16T09:00:00Z') + MINUTE);
  const level2 = await w.until('level 2', () => w.events('escalation_level_raised').find((e) => e.data.level === 2));
  // The last hour: 17:00-17:30 on Friday, the weekend off, 08:30-09:00 on Monday 19 October.
  expectAbout(level2.data.nextLevelAt as string, '2026-10-19T01:00:00Z');
  // The workflow is quiet again: level 2's contacts were told and that is in the timeline.
  await w.until('level 2 told', () => w.events('escalation_notified').find((e) => e.data.level === 2));
}

describe('a missed visit on the escalation chain (cn-office, steps PT0S, PT1H, PT2H)', () => {
  it('climbs from level 1 to 3 on working time, each level\'s contacts told; the next completed visit resolves it', async () => {
    const c = await openPlan();
    const w = c.world;
    await missedAndAtLevel2(c);

    // Saturday and Sunday do not count: still level 2 on Sunday evening.
    await bed.advanceTo(Date.parse('2026-10-18T12:00:00Z'));
    expect(levelsRaised(w)).toEqual([2]);
    expect((await c.state()).escalation!.level).toBe(2);

    await bed.advanceTo(Date.parse('2026-10-19T01:00:00Z') + MINUTE);
    const level3 = await w.until('level 3', () => w.events('escalation_level_raised').find((e) => e.data.level === 3));
    expect(level3.data).toMatchObject({ reason: 'care_visit_missed', nextLevelAt: null });
    expect(levelsRaised(w)).toEqual([2, 3]);
    await w.until('three levels told', () => w.escalationNotices.length === 3 || undefined);
    expect(w.escalationNotices.map((n) => [n.level, n.reason, n.caseType, n.community])).toEqual([
      [1, 'care_visit_missed', 'care_plan', '幸福社区'], [2, 'care_visit_missed', 'care_plan', '幸福社区'], [3, 'care_visit_missed', 'care_plan', '幸福社区'],
    ]);
    expect(w.escalationNotices.map((n) => n.deliveryId)).toEqual([1, 2, 3].map((l) => `${c.handle.workflowId}:escalation:1:${l}`));
    // No resident data goes to escalation contacts.
    expect(JSON.stringify(w.escalationNotices)).not.toMatch(/张奶奶|13900001111|5号楼/);
    const top = await c.state();
    expect(top.escalations).toEqual([expect.objectContaining({ number: 1, level: 3, status: 'open', nextLevelAt: null })]);
    // At the top the escalation stays a breached deadline (its start) until someone takes it on.
    const row = await w.until('row at level 3', () => (w.lastSnapshot?.details.escalation as { level?: number } | null)?.level === 3 ? w.lastSnapshot : undefined);
    expect(row.deadlines.escalation).toBe(top.escalation!.since);

    // Visit 2, a week after visit 1, is done: the escalation is resolved.
    await bed.advanceTo(Date.parse('2026-10-23T04:00:00Z'));
    await w.scheduledVisit('visit-3');
    await c.checkIn('visit-2', ELDERCARE);
    await bed.advance(HOUR);
    const done = await c.checkOut('visit-2', ELDERCARE);
    expect(done.escalation).toBeNull();
    expect(done.escalations![0]).toMatchObject({ status: 'resolved', level: 3 });
    await w.until('resolved', () => w.events('escalation_resolved').find((e) => e.data.cause === 'visit_completed'));

    await c.end('test over');
    await c.result();
    if (process.env.RECORD_HISTORIES === '1') await writeCaseHistories(bed.env, 'care-plan-escalation-climbs', c.handle.workflowId);
  });

  it('stops at level 2 once a supervisor takes it on; a further miss starts a new escalation at level 1', async () => {
    const c = await openPlan();
    const w = c.world;
    await missedAndAtLevel2(c);

    const acknowledged = await c.acknowledge('社区书记已联系养老公司，周一补上门');
    expect(acknowledged.escalation).toMatchObject({ level: 2, acknowledgedBy: 'supervisor:secretary' });
    expect(acknowledged.escalations![0]).toMatchObject({ status: 'acknowledged', level: 2, nextLevelAt: null });
    expect((await rejection(c.acknowledge('again'))).message).toMatch(/no escalation waiting/);
    await w.waitForEvent('escalation_acknowledged');
    // Taken on: no longer overdue, no escalation deadline.
    const row = await w.until('row acknowledged', () => (w.lastSnapshot && !w.lastSnapshot.overdue ? w.lastSnapshot : undefined));
    expect(row.deadlines.escalation).toBeUndefined();

    // Past Monday 09:00, when level 3 would have come: nothing climbed, nobody at level 3 was told.
    await bed.advanceTo(Date.parse('2026-10-19T03:00:00Z'));
    expect(levelsRaised(w)).toEqual([2]);
    expect(w.escalationNotices.map((n) => n.level)).toEqual([1, 2]);

    // Visit 2 is missed too: the escalation taken on is superseded, a new one starts at level 1.
    await bed.advanceTo(Date.parse('2026-10-23T08:00:00Z') + MINUTE);
    await w.waitForVisit('visit-2', (v) => v.status === 'missed', 'missed');
    await w.until('superseded', () => w.events('escalation_resolved').find((e) => e.data.cause === 'superseded_by_next_miss'));
    const again = await w.until('escalation 2 raised', () => w.events('escalation_raised').find((e) => e.data.escalation === 2));
    expect(again.data).toMatchObject({ level: 1, reason: 'care_visit_missed' });
    const state = await c.state();
    expect(state.escalation).toMatchObject({ level: 1, visitId: 'visit-2', escalation: 2 });
    expect(state.escalations!.map((e) => [e.number, e.status, e.level])).toEqual([[1, 'resolved', 2], [2, 'open', 1]]);

    await c.end('test over');
    const final = await c.result();
    expect(final.escalations!.every((e) => e.status === 'resolved')).toBe(true);
    if (process.env.RECORD_HISTORIES === '1') await writeCaseHistories(bed.env, 'care-plan-escalation-acknowledged', c.handle.workflowId);
  });
});
