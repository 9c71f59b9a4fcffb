/**
 * Cases that live for years: a case continues as new (here forced early with
 * `continueAsNewAfterEvents`), carrying its state, its memory and the numbering of its
 * timeline and webhook deliveries, so the read model sees one whole timeline, 1..N, and
 * nothing a client repeats fills a run's history.
 */
import { MAX_PROGRESS_NOTES_PER_ORDER } from '../../src/domain/serviceRequest';
import { caseRuns, untilQuiet } from '../support/caseRuns';
import { MINUTE, partner, recordHistoryIfAsked, rejection, type ServiceRequestCase, startWorkflowTestBed, type WorkflowTestBed } from './support';

const steward = partner('property-steward', '物业公司 · 网格管家');

let bed: WorkflowTestBed;
beforeAll(async () => { bed = await startWorkflowTestBed(); });
afterEach(async () => { await bed?.finishCases(); });
afterAll(async () => { await bed?.stop(); });

/** Seqs 1..n, each once, in order, as the read model received them. */
function expectWholeTimeline(c: ServiceRequestCase): void {
  const seqs = c.world.timeline.map((e) => e.seq);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
}

/** Every delivery id names one delivery (a continued run must not re-use one: partners drop repeats). */
function expectDistinctDeliveries(c: ServiceRequestCase): void {
  const delivered = c.world.webhookAttempts.filter((w) => w.outcome === 'delivered');
  expect(new Set(delivered.map((w) => w.deliveryId)).size).toBe(delivered.length);
}

it('a case that continues as new twice keeps one timeline, 1..N without a gap or a repeat, and ends closed', async () => {
  const c = await bed.openCase({ partners: [steward], continueAsNewAfterEvents: 60 });
  recordHistoryIfAsked('continued-as-new', c);
  await c.dispatchedTo(steward.partnerId);
  await c.accept(steward.partnerId);
  for (let i = 1; i <= 20; i += 1) {
    await c.progress(steward.partnerId, `第${i}次进展`);
    await c.world.waitForEvent('progress', { note: `第${i}次进展` });
    await untilQuiet(bed.env.client, c.workflowId); // as a partner pausing between notes (see untilQuiet)
  }
  await c.complete(steward.partnerId, '修好了', 2);
  await c.followUp(true, '回访确认');
  const final = await c.survey(5);
  expect(final.status).toBe('closed');
  const result = await c.result();
  expect(result).toMatchObject({ status: 'closed', outcome: 'satisfied', dispatchAttempts: 1, assignedPartnerId: steward.partnerId });

  const runs = await caseRuns(bed.env.client, c.workflowId);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(runs.slice(0, -1).every((r) => r.lastEvent === 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW')).toBe(true);
  expect(runs.at(-1)!.lastEvent).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');

  expectWholeTimeline(c);
  expect(c.world.types().filter((t) => t === 'intake')).toHaveLength(1);
  expect(c.world.events('progress')).toHaveLength(20);
  expect(c.world.types().slice(-3)).toEqual(['follow_up', 'survey', 'closed']);
  expect(c.world.lastSnapshot).toMatchObject({ status: 'closed', outcome: 'satisfied', satisfaction: 5 });
  expectDistinctDeliveries(c);
});

it(`progress notes are capped at ${MAX_PROGRESS_NOTES_PER_ORDER} per order: the next one is refused (409) and the case still completes`, async () => {
  const c = await bed.openCase({ partners: [steward] });
  await c.dispatchedTo(steward.partnerId);
  await c.accept(steward.partnerId);
  for (let i = 1; i <= MAX_PROGRESS_NOTES_PER_ORDER; i += 1) await c.progress(steward.partnerId, `进展${i}`);
  const refused = await rejection(c.progress(steward.partnerId, 'one too many'));
  expect(refused.type).toBe('InvalidCaseState');
  expect(refused.message).toMatch(new RegExp(`${MAX_PROGRESS_NOTES_PER_ORDER} progress notes`));
  await c.world.until('every accepted note written', () => c.world.events('progress').length === MAX_PROGRESS_NOTES_PER_ORDER);
  expect((await c.complete(steward.partnerId, '完成', 1)).status).toBe('awaiting_follow_up');
  expect(c.world.events('progress')).toHaveLength(MAX_PROGRESS_NOTES_PER_ORDER);
});

const CYCLES = Number(process.env.LONG_LIVED_CYCLES ?? 200);
const HISTORY_LIMIT = 1000;

it(`a case reminded and reopened ${CYCLES} times stays well inside the history limits: every run stays near ${HISTORY_LIMIT} events`, async () => {
  const c = await bed.openCase({ partners: [steward], continueAsNewAfterEvents: HISTORY_LIMIT });
  for (let n = 1; n <= CYCLES; n += 1) {
    await c.dispatchedTo(steward.partnerId, n);
    await bed.advance(11 * MINUTE); // past the 10-minute reminder, before the 30-minute acknowledgement deadline
    await c.delivered(steward.partnerId, 'order.reminder', n);
    await c.accept(steward.partnerId);
    await c.complete(steward.partnerId, `第${n}次维修`, 1);
    const state = await c.followUp(false, '又坏了');
    expect(state).toMatchObject({ status: 'dispatching', reopenCount: n });
    await c.world.waitForEvent('reopened', {}, n);
  }
  await c.dispatchedTo(steward.partnerId, CYCLES + 1);
  await c.accept(steward.partnerId);
  await c.complete(steward.partnerId, '彻底修好', 3);
  await c.followUp(true, '确认修好');
  expect((await c.survey(4)).status).toBe('closed');
  await c.result();

  const runs = await caseRuns(bed.env.client, c.workflowId);
  const lengths = runs.map((r) => r.historyLength);
  const total = lengths.reduce((a, b) => a + b, 0);
  // One run would have held every event; the case spread them over many short runs instead.
  expect(runs.length).toBeGreaterThanOrEqual(Math.floor(total / HISTORY_LIMIT));
  expect(Math.max(...lengths)).toBeLessThan(HISTORY_LIMIT + 100);
  expect(total).toBeGreaterThan(5 * HISTORY_LIMIT);

  expectWholeTimeline(c);
  expect(c.world.events('reopened')).toHaveLength(CYCLES);
  expect(c.world.events('reminder_sent')).toHaveLength(CYCLES);
  expect(c.world.lastSnapshot).toMatchObject({ status: 'closed', reopenCount: CYCLES, dispatchAttempts: CYCLES + 1 });
  expectDistinctDeliveries(c);
  process.stdout.write(`${CYCLES} reopen cycles: ${runs.length} runs, history events per run max ${Math.max(...lengths)}, total ${total}\n`);
}, 600_000);
