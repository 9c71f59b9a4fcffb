/**
 * Working-day clocks, holds and the escalation chain (docs/sla-clocks.md) in the resident
 * request workflow, on the time-skipping test server with its clock started on
 * 30 September 2026 (tests/support/fakeClock.ts), so the cases live through the real 2026
 * National Day week and its make-up working Saturday.
 *
 * `RECORD_HISTORIES=1` also writes the histories of these shapes to tests/replay/histories/.
 */
import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { withSlaClock } from '../../src/api/slaClock';
import { BUILT_IN_CALENDARS, snapshotCalendar } from '../../src/domain/calendars';
import type { ServiceRequestWorkflowInput } from '../../src/domain/serviceRequest';
import { resolveServiceRequestSla, type SlaPolicy } from '../../src/domain/sla';
import { testServerStartingAt } from '../support/fakeClock';
import { HOUR, MINUTE, partner, recordHistoryIfAsked, rejection, REPAIR_SLA, startWorkflowTestBed, type WorkflowTestBed } from './support';

const steward = partner('property-steward', '物业公司 · 网格管家');
const SECOND = 1000;

/**
 * Each story gets its own test server, its clock started on the story's date: a server's
 * clock only moves forward, and a case that ends slowly may let it skip far ahead.
 */
let bed: WorkflowTestBed;
async function startingAt(instant: string): Promise<void> {
  bed = await startWorkflowTestBed({ serverPath: await testServerStartingAt(instant) });
}
afterEach(async () => { await bed?.stop(); });

/** The SLA as intake builds it (the built-in calendars need no database). */
async function slaFor(policy: Partial<SlaPolicy>): Promise<ServiceRequestWorkflowInput['sla']> {
  const resolved = resolveServiceRequestSla([{ ...REPAIR_SLA, ...policy }], 'housing', 'urgent');
  return withSlaClock(undefined as unknown as Pool, resolved, await bed.env.currentTimeMs(), true);
}

/** Move the server's clock to `instant` (timers due before it fire on the way). */
async function advanceTo(instant: string): Promise<void> {
  const ms = Date.parse(instant) - (await bed.env.currentTimeMs());
  if (ms > 0) await bed.advance(ms);
}

/** `actual` is `expected` plus the sub-second offset of when the step happened (within 5 s). */
function expectAbout(actual: string | null | undefined, expected: string): void {
  const drift = Date.parse(actual!) - Date.parse(expected);
  expect({ actual, drift: drift >= 0 && drift < 5 * SECOND }).toEqual({ actual, drift: true });
}

jest.setTimeout(180_000);

describe('cn-office deadlines across the 2026 National Day week', () => {
  it('16:00 Beijing on 30 September with PT19H of working time falls due on the morning of the make-up Saturday 10 October', async () => {
    await startingAt('2026-09-30T07:50:00Z');
    const sla = await slaFor({ calendar: 'cn-office', fulfilmentTimeout: 'PT19H' });
    const c = await bed.openCase({ partners: [steward], sla });
    recordHistoryIfAsked('sla-national-day-overdue', c);
    await c.dispatchedTo(steward.partnerId);
    await advanceTo('2026-09-30T08:00:00Z');
    const accepted = await c.accept(steward.partnerId);
    // 1.5 h on 30 September, 1-7 October off, 7.5 h on 8 and 9 October, 2.5 h from 08:30 on Saturday 10 October.
    expectAbout(accepted.deadlines.fulfilment, '2026-10-10T03:00:00Z');
    expect(accepted.provisionalDeadlines).toEqual([]);

    await advanceTo('2026-10-10T02:59:00Z');
    expect((await c.state()).overdue).toBe(false);
    await advanceTo('2026-10-10T03:00:10Z');
    const raised = await c.world.waitForEvent('escalation_raised', { reason: 'fulfilment_overdue', level: 1 });
    expectAbout(raised.at, '2026-10-10T03:00:00Z');
    const state = await c.state();
    expect(state.overdue).toBe(true);
    // The default second step (PT4H) counts on the calendar too: 11:00-12:00 and 13:30-16:30 that Saturday.
    expectAbout(state.escalations![0].nextLevelAt, '2026-10-10T08:30:00Z');
    expect(c.world.lastSnapshot!.deadlines.escalation).toBe(state.escalations![0].nextLevelAt);
  });
});

describe('a hold over a weekend', () => {
  it('stops the fulfilment clock from Friday 16:00 to Monday 11:00, and resuming moves the deadline by the 4 working hours held', async () => {
    await startingAt('2026-10-16T06:55:00Z');
    const sla = await slaFor({ calendar: 'cn-office', fulfilmentTimeout: 'PT4H' });
    const c = await bed.openCase({ partners: [steward], sla });
    recordHistoryIfAsked('sla-hold-over-weekend', c);
    await c.dispatchedTo(steward.partnerId);
    await advanceTo('2026-10-16T07:00:00Z'); // Friday 15:00 Beijing
    const accepted = await c.accept(steward.partnerId);
    expectAbout(accepted.deadlines.fulfilment, '2026-10-19T02:00:00Z'); // Monday 10:00

    await advanceTo('2026-10-16T08:00:00Z'); // Friday 16:00: the resident is away for the weekend
    const held = await c.hold(steward.partnerId, 'resident_unavailable', '居民周末外出');
    expect(held.onHold).toMatchObject({ reason: 'resident_unavailable', note: '居民周末外出' });
    expect((await rejection(c.hold(steward.partnerId, 'other'))).message).toMatch(/on hold already/);

    await advanceTo('2026-10-19T03:00:00Z'); // Monday 11:00, past the old deadline
    const during = await c.state();
    expect(during.overdue).toBe(false);
    expect(c.world.types()).not.toContain('overdue');
    expect(c.world.lastSnapshot!.deadlines.fulfilment).toBeUndefined(); // not a deadline while the clock stands still
    expect(c.world.lastSnapshot!.deadlines.hold).toBeDefined(); // maxHold runs instead

    const resumed = await c.resume(steward.partnerId);
    expect(resumed.onHold).toBeNull();
    // Friday 16:00-17:30 and Monday 08:30-11:00 (plus the milliseconds the steps took)
    expect(resumed.held!.count).toBe(1);
    expect(Math.round(resumed.held!.workingMs / MINUTE)).toBe(4 * 60);
    // 3 working hours were left at the hold: Monday 11:00-12:00 and 13:30-15:30.
    expectAbout(resumed.deadlines.fulfilment, '2026-10-19T07:30:00Z');
    const ended = await c.world.waitForEvent('hold_ended', { why: 'resumed' });
    expect(Math.round((ended.data.heldMs as number) / MINUTE)).toBe(4 * 60);
    expect(ended.data.fulfilmentDeadline).toBe(resumed.deadlines.fulfilment);
    expect((await rejection(c.resume(steward.partnerId))).message).toMatch(/not on hold/);
  });
});

/**
 * Steps of an hour, not seconds: between test steps real seconds pass on the server's clock
 * (time skips only while the test waits), and they must not climb a level by themselves.
 * The API test (tests/api/slaClocks.test.ts) runs PT0S, PT3S, PT6S in real time.
 */
describe('the escalation chain (逐级督办) with steps PT0S, PT1H, PT2H', () => {
  const fastSteps = { escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT1H' }, { level: 3, after: 'PT2H' }] };
  const withContacts = { prepare: (w: { escalationContacts: Partial<Record<number, string[]>> }) => {
    w.escalationContacts[1] = ['网格长'];
    w.escalationContacts[2] = ['社区书记'];
    w.escalationContacts[3] = ['街道办'];
  } };

  it('climbs an unanswered case from level 1 to 3, telling the contacts of each level', async () => {
    await startingAt('2026-11-02T01:00:00Z');
    const c = await bed.openCase({ partners: [], sla: await slaFor(fastSteps), ...withContacts });
    recordHistoryIfAsked('sla-escalation-climbs', c);
    await c.world.waitForEvent('escalation_raised', { reason: 'no_partner', level: 1 });
    await bed.advance(2 * HOUR + MINUTE);
    await c.world.waitForEvent('escalation_level_raised', { level: 3 });
    expect(c.world.events('escalation_level_raised').map((e) => e.data.level)).toEqual([2, 3]);
    await c.world.until('three levels told', () => c.world.escalationNotices.length === 3 || undefined);
    expect(c.world.escalationNotices.map((n) => [n.level, n.reason, n.caseType])).toEqual([
      [1, 'no_partner', 'service_request'], [2, 'no_partner', 'service_request'], [3, 'no_partner', 'service_request'],
    ]);
    // No resident data goes to escalation contacts.
    expect(JSON.stringify(c.world.escalationNotices)).not.toMatch(/王大爷|13800000000|3号楼/);
    expect((await c.state()).escalations![0]).toMatchObject({ level: 3, status: 'open', nextLevelAt: null });
  });

  it('stops at level 2 once a supervisor acknowledges it, and an assignment resolves it', async () => {
    await startingAt('2026-11-02T01:00:00Z');
    const c = await bed.openCase({ partners: [], sla: await slaFor(fastSteps), ...withContacts });
    recordHistoryIfAsked('sla-escalation-acknowledged', c);
    await c.world.waitForEvent('escalation_raised', { level: 1 });
    await bed.advance(HOUR + MINUTE);
    await c.world.waitForEvent('escalation_level_raised', { level: 2 });
    const acknowledged = await c.acknowledgeEscalation('社区书记已接手，今天派人');
    expect(acknowledged.escalations![0]).toMatchObject({ level: 2, status: 'acknowledged', acknowledgedBy: 'supervisor:secretary' });
    expect((await rejection(c.acknowledgeEscalation('again'))).message).toMatch(/no escalation waiting/);

    await bed.advance(3 * HOUR);
    expect(c.world.events('escalation_level_raised').map((e) => e.data.level)).toEqual([2]);
    expect(c.world.escalationNotices.map((n) => n.level)).toEqual([1, 2]);
    await c.assign(steward.partnerId);
    await c.world.waitForEvent('escalation_resolved', { level: 2, cause: 'assigned' });
    expect((await c.state()).escalations![0].status).toBe('resolved');
  });
});

/**
 * A survey of 1-2 raises `low_survey_score` as the case closes; the workflow stays until the
 * escalation is taken on or at the top level (the escalation-climbs-after-close patch).
 */
describe('a low survey score after the case closed', () => {
  const fastSteps = { escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT1H' }, { level: 3, after: 'PT2H' }] };
  const withContacts = { prepare: (w: { escalationContacts: Partial<Record<number, string[]>> }) => {
    w.escalationContacts[1] = ['网格长'];
    w.escalationContacts[2] = ['社区书记'];
    w.escalationContacts[3] = ['街道办'];
  } };

  async function closedWithScore(score: number, history: string) {
    await startingAt('2026-11-02T01:00:00Z');
    const c = await bed.openCase({ partners: [steward], sla: await slaFor(fastSteps), ...withContacts });
    recordHistoryIfAsked(history, c);
    await c.dispatchedTo(steward.partnerId);
    await c.accept(steward.partnerId);
    await c.complete(steward.partnerId, '已修好');
    await c.followUp(true, '居民确认');
    const closed = await c.survey(score, '师傅态度差');
    expect(closed.status).toBe('closed');
    const raised = await c.world.waitForEvent('escalation_raised', { reason: 'low_survey_score', level: 1 });
    expect(raised.data.nextLevelAt).not.toBeNull();
    return c;
  }

  it('climbs from level 1 to 3 after the close, each level told, and the workflow ends at the top', async () => {
    const c = await closedWithScore(1, 'sla-low-score-climbs-after-close');
    await bed.advance(2 * HOUR + MINUTE);
    await c.world.waitForEvent('escalation_level_raised', { level: 3, reason: 'low_survey_score' });
    const final = await c.result();
    expect(final.status).toBe('closed');
    expect(final.escalations!.find((e) => e.reason === 'low_survey_score')).toMatchObject({ level: 3, status: 'open', nextLevelAt: null });
    await c.world.until('three levels told', () => c.world.escalationNotices.length === 3 || undefined);
    expect(c.world.escalationNotices.map((n) => [n.level, n.reason])).toEqual([[1, 'low_survey_score'], [2, 'low_survey_score'], [3, 'low_survey_score']]);
    // The read model has the top level (written after the close).
    await c.world.until('level 3 in the read model', () =>
      (c.world.lastSnapshot?.details.escalations as { level: number }[] | undefined)?.some((e) => e.level === 3) || undefined);
  });

  it('stops when a supervisor takes it on at level 2, and the workflow ends then', async () => {
    const c = await closedWithScore(2, 'sla-low-score-acknowledged-after-close');
    await bed.advance(HOUR + MINUTE);
    await c.world.waitForEvent('escalation_level_raised', { level: 2, reason: 'low_survey_score' });
    await c.world.waitForEvent('escalation_notified', { level: 2 });
    const acknowledged = await c.acknowledgeEscalation('社区书记回访居民');
    expect(acknowledged.escalations!.find((e) => e.reason === 'low_survey_score')).toMatchObject({ level: 2, status: 'acknowledged' });
    const final = await c.result();
    expect(final.status).toBe('closed');
    expect(c.world.events('escalation_level_raised').map((e) => e.data.level)).toEqual([2]);
    await c.world.waitForEvent('escalation_acknowledged', { level: 2 });
    expect(c.world.escalationNotices.map((n) => n.level)).toEqual([1, 2]);
  });
});

describe('the share inside the SLA counts held time out', () => {
  it('a case held longer than its whole fulfilment time and completed before the moved deadline is not breached', async () => {
    await startingAt('2026-11-02T01:00:00Z');
    const c = await bed.openCase({ partners: [steward], sla: await slaFor({ fulfilmentTimeout: 'PT2H' }) });
    await c.dispatchedTo(steward.partnerId);
    const accepted = await c.accept(steward.partnerId);
    await bed.advance(HOUR);
    await c.hold(steward.partnerId, 'awaiting_parts', '等配件');
    await bed.advance(3 * HOUR); // past the original deadline, on hold
    const resumed = await c.resume(steward.partnerId);
    expect(Date.parse(resumed.deadlines.fulfilment!) - Date.parse(accepted.deadlines.fulfilment!)).toBe(resumed.held!.workingMs);
    await bed.advance(30 * MINUTE);
    // 4.5 hours after acceptance on a 2-hour fulfilment: inside it once the 3 hours held are counted out.
    await c.complete(steward.partnerId, '已更换配件');
    const snapshot = await c.world.until('completed in the read model', () =>
      (c.world.lastSnapshot?.status === 'awaiting_follow_up' ? c.world.lastSnapshot : undefined));
    // What the report's share inside the SLA reads (cases.within_sla = NOT fulfilmentBreached, migration 003).
    expect(snapshot.details.fulfilmentBreached).toBe(false);
    expect(c.world.types()).not.toContain('overdue');
    expect(Date.parse(snapshot.completedAt!) - Date.parse(accepted.acknowledgedAt!)).toBeGreaterThan(4 * HOUR);
  });
});

describe('deadlines that replay', () => {
  it('a running case replays on the calendar data it was opened with, whatever the release ships now', async () => {
    await startingAt('2026-10-20T05:59:00Z');
    // Data of another release, which had Wednesday 21 October closed: the case carries that snapshot.
    const sla = await slaFor({ calendar: 'cn-office', fulfilmentTimeout: 'PT19H' });
    const other = snapshotCalendar(BUILT_IN_CALENDARS['cn-office'], Date.parse('2026-10-20T06:00:00Z'));
    const c = await bed.openCase({ partners: [steward], sla: { ...sla, calendar: { ...other, closedDates: [...other.closedDates, '2026-10-21'] } } });
    recordHistoryIfAsked('sla-snapshot-differs-from-release', c);
    await c.dispatchedTo(steward.partnerId);
    await advanceTo('2026-10-20T06:00:00Z'); // Tuesday 14:00
    const accepted = await c.accept(steward.partnerId);
    // Counted on the snapshot: 3.5 h on Tuesday, Wednesday closed, Thursday and Friday, then Monday 26 October 09:00
    // (today's data would say Friday 23 October 09:00).
    expectAbout(accepted.deadlines.fulfilment, '2026-10-26T01:00:00Z');
    const history = await c.handle.fetchHistory();
    // Replayed by today's workflow code: the deadlines come from the input in the history, not from the bundle.
    await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, history, c.workflowId);
    // The workflow code carries no holiday data at all: nothing a data update could change underneath a case.
    const bundle = readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8');
    expect(bundle).not.toContain('国办发明电');
    expect(bundle).not.toContain('Intl.DateTimeFormat');
  });
});
