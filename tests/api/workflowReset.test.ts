/**
 * After a workflow reset, the abandoned branch's events must not stay in the case's
 * timeline: `npm run reconcile -- --rewrite <caseId>` rewrites it from the current run's
 * history (src/reconciliation/rewriteTimeline.ts). A real reset on the dev server, and a
 * case that continued as new (each run's history holds only its own events).
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { timelineFromHistory } from '../../src/reconciliation/historyTimeline';
import { rewriteTimelineFromHistory } from '../../src/reconciliation/rewriteTimeline';
import { getServiceRequestState, serviceRequestWorkflowId } from '../../src/workflows/messages';
import { caseRuns, untilQuiet } from '../support/caseRuns';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, partnerActions, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

const { EventType, ResetReapplyType, ResetReapplyExcludeType } = temporal.api.enums.v1;

let sys: TestSystem;
let sim: PartnerSimulator;
beforeAll(async () => {
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

const timeline = async (id: string) => (await sys.call('GET', `/v1/cases/${id}/history`)).body as { seq: number; type: string }[];
const storedStatus = async (id: string) => (await sys.pool.query<{ status: string }>('SELECT status FROM cases WHERE id = $1', [id])).rows[0]?.status;

it('a reset case gets the timeline of its new run back, and goes on from there', async () => {
  const partner = await sys.createPartner({ name: '重置物业', webhookUrl: sim.url, webhookSecret: sim.secret });
  const staff = await sys.createKey('staff');
  const opened = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { name: '钱阿姨', phone: '13700002222', community: sys.community, address: '5栋' }, category: 'housing', description: '门锁坏了', urgency: 'normal', channel: 'phone' },
  });
  expect(opened.status).toBe(201);
  const id = opened.body.id as string;
  const workflowId = serviceRequestWorkflowId(id);
  await eventually(() => storedStatus(id), { accept: (s) => s === 'awaiting_ack', what: 'dispatched' });
  await eventually(() => sim.received.find((d) => d.body.caseId === id), { what: 'the order webhook' });

  // The branch that will be abandoned: the partner accepts and reports progress.
  const asPartner = partnerActions(sys.url, partner.key);
  expect((await asPartner.accept(id)).data?.status).toBe('in_progress');
  expect((await asPartner.progress(id, '明天上门')).response.status).toBe(200);
  await eventually(() => timeline(id), { accept: (t) => t.some((e) => e.type === 'progress'), what: 'progress in the timeline' });

  // Reset to the last workflow task before the partner's acceptance, reapplying nothing.
  const handle = sys.client.workflow.getHandle(workflowId);
  const oldRunId = (await handle.describe()).runId;
  const events = (await handle.fetchHistory()).events ?? [];
  const accepted = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)!;
  const resetPoint = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && Number(e.eventId) < Number(accepted.eventId)).pop()!;
  const { runId: newRunId } = await sys.client.workflowService.resetWorkflowExecution({
    namespace: sys.config.TEMPORAL_NAMESPACE, workflowExecution: { workflowId, runId: oldRunId },
    reason: 'test: undo the acceptance', workflowTaskFinishEventId: resetPoint.eventId, requestId: randomUUID(),
    resetReapplyType: ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
    resetReapplyExcludeTypes: [ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE],
  });
  expect(newRunId).toBeTruthy();
  const live = await eventually(() => sys.client.workflow.getHandle(workflowId, newRunId!).query(getServiceRequestState), { what: 'the new run answering' });
  expect(live.status).toBe('awaiting_ack');

  // What the read model shows now: the abandoned branch, still "in progress".
  const before = await timeline(id);
  expect(before.map((e) => e.type)).toEqual(expect.arrayContaining(['accepted', 'progress']));
  expect(await storedStatus(id)).toBe('in_progress');

  const result = await rewriteTimelineFromHistory({ client: sys.client, pool: sys.pool }, id);
  expect(result).toMatchObject({ caseId: id, workflowId, runId: newRunId, running: true });
  expect(result.removed).toBeGreaterThan(result.written);

  const fromHistory = (await timelineFromHistory(sys.client, workflowId, newRunId!))!;
  const after = await timeline(id);
  expect(after.map((e) => [e.seq, e.type])).toEqual(fromHistory.events.map((e) => [e.seq, e.type]));
  expect(after.some((e) => e.type === 'accepted' || e.type === 'progress')).toBe(false);
  expect(await storedStatus(id)).toBe('awaiting_ack');

  // The new run goes on writing its own timeline: the partner accepts again, once.
  expect((await asPartner.accept(id)).response.status).toBe(200);
  const resumed = await eventually(() => timeline(id), { accept: (t) => t.some((e) => e.type === 'accepted'), what: 'accepted in the new run' });
  expect(resumed.filter((e) => e.type === 'accepted')).toHaveLength(1);
  expect(resumed.some((e) => e.type === 'progress')).toBe(false);
  await eventually(() => storedStatus(id), { accept: (s) => s === 'in_progress', what: 'in progress again' });
});

it('a case that continued as new is rewritten whole: every run of its chain gives its events', async () => {
  const long = await startTestSystem({ CASE_CONTINUE_AS_NEW_AFTER_EVENTS: '100' });
  try {
    const partner = await long.createPartner({ name: '长跑物业', webhookUrl: sim.url, webhookSecret: sim.secret });
    const staff = await long.createKey('staff');
    const opened = await long.call('POST', '/v1/service-requests', {
      key: staff,
      body: { resident: { name: '周大爷', phone: '13700003333', community: long.community }, category: 'housing', description: '暖气不热', urgency: 'normal', channel: 'phone' },
    });
    const id = opened.body.id as string;
    const workflowId = serviceRequestWorkflowId(id);
    await eventually(() => sim.received.find((d) => d.body.caseId === id), { what: 'the order webhook' });
    await untilQuiet(long.client, workflowId);
    const asPartner = partnerActions(long.url, partner.key);
    expect((await asPartner.accept(id)).response.status).toBe(200);
    for (let i = 1; (await caseRuns(long.client, workflowId)).length < 2; i += 1) {
      if (i > 45) throw new Error('the case never continued as new');
      await untilQuiet(long.client, workflowId); // lets the case switch runs between notes
      expect((await asPartner.progress(id, `进展 ${i}`)).response.status).toBe(200);
    }
    await untilQuiet(long.client, workflowId);
    const history = async () => (await long.call('GET', `/v1/cases/${id}/history`)).body as { seq: number; type: string }[];
    const before = await eventually(history, { accept: (h) => h.filter((e) => e.type === 'progress').length > 0, what: 'the timeline' });

    const result = await rewriteTimelineFromHistory({ client: long.client, pool: long.pool }, id);

    expect(result.written).toBe(before.length);
    const after = await history();
    expect(after.map((e) => [e.seq, e.type])).toEqual(before.map((e) => [e.seq, e.type]));
    expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i + 1));
    expect(after.filter((e) => e.type === 'intake')).toHaveLength(1);
  } finally {
    await long.stop();
  }
}, 120_000);
