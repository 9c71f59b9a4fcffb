/**
 * A case that lives long, through the REST API on the real Temporal dev server and
 * Postgres: opened with CASE_CONTINUE_AS_NEW_AFTER_EVENTS=100 so it switches runs often,
 * it keeps one timeline (GET /v1/cases/{id}/history: seq 1..N, no gap, no repeat), a
 * repeated accept costs no Update, and the 51st progress note on one order is refused.
 */
import { MAX_PROGRESS_NOTES_PER_ORDER } from '../../src/domain/serviceRequest';
import { serviceRequestWorkflowId } from '../../src/workflows/messages';
import { caseRuns, untilQuiet } from '../support/caseRuns';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let sim: PartnerSimulator;

beforeAll(async () => {
  sys = await startTestSystem({ CASE_CONTINUE_AS_NEW_AFTER_EVENTS: '100' });
  staff = await sys.createKey('staff');
  sim = await startPartnerSimulator();
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

const act = (id: string, action: string, key: string, body: unknown = {}) => sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body });

/** Updates the case has taken, over all its runs (each is an event in some run's history). */
async function updatesTaken(workflowId: string): Promise<number> {
  let count = 0;
  for (const run of await caseRuns(sys.client, workflowId)) {
    const { events } = await sys.client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    count += (events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
  }
  return count;
}

it('a case continues as new many times and its history stays whole; repeats cost nothing; notes are capped', async () => {
  const p = await sys.createPartner({ name: '长期物业', webhookUrl: sim.url, webhookSecret: sim.secret });
  const intake = {
    key: staff, headers: { 'idempotency-key': `long-lived-${Date.now()}` },
    body: { resident: { name: '李奶奶', phone: '13700000001', community: sys.community }, category: 'housing', description: '楼道灯坏了', urgency: 'normal', channel: 'phone' },
  };
  const opened = await sys.call('POST', '/v1/service-requests', intake);
  expect(opened.status).toBe(201);
  const id: string = opened.body.id;
  const workflowId = serviceRequestWorkflowId(id);
  await eventually(() => sim.received.find((d) => d.event === 'order.dispatched' && d.body.caseId === id));
  await untilQuiet(sys.client, workflowId);
  expect((await act(id, 'accept', p.key)).body.status).toBe('in_progress');
  await untilQuiet(sys.client, workflowId);

  // A partner retrying its accept: answered 200 from the live state, no Update sent.
  const before = await updatesTaken(workflowId);
  for (let i = 0; i < 5; i += 1) {
    const again = await act(id, 'accept', p.key);
    expect({ status: again.status, state: again.body.status }).toEqual({ status: 200, state: 'in_progress' });
  }
  expect(await updatesTaken(workflowId)).toBe(before);

  for (let i = 1; i <= MAX_PROGRESS_NOTES_PER_ORDER; i += 1) {
    expect((await act(id, 'progress', p.key, { note: `进展 ${i}` })).status).toBe(200);
    await untilQuiet(sys.client, workflowId); // a partner pausing between notes lets the case switch runs
  }
  const refused = await act(id, 'progress', p.key, { note: 'one too many' });
  expect(refused.status).toBe(409);
  expect(refused.body.detail ?? refused.body.title).toMatch(new RegExp(`${MAX_PROGRESS_NOTES_PER_ORDER} progress notes`));

  expect((await act(id, 'complete', p.key, { note: '换了灯管', hoursSpent: 0.5 })).body.status).toBe('awaiting_follow_up');
  expect((await act(id, 'follow-up', staff, { resolved: true, note: '灯亮了' })).body.status).toBe('awaiting_survey');
  expect((await act(id, 'survey', staff, { score: 5 })).body.status).toBe('closed');
  await sys.client.workflow.getHandle(workflowId).result();

  const runs = await caseRuns(sys.client, workflowId);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(runs.at(-1)!.lastEvent).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');

  const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`)).body as { seq: number; type: string }[],
    { accept: (h) => Array.isArray(h) && h.at(-1)?.type === 'closed', what: 'the closed timeline' });
  expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i + 1));
  expect(history.filter((e) => e.type === 'progress')).toHaveLength(MAX_PROGRESS_NOTES_PER_ORDER);
  expect(history.filter((e) => e.type === 'intake')).toHaveLength(1);
  expect(history.filter((e) => e.type === 'accepted')).toHaveLength(1);
  const { rows } = await sys.pool.query('SELECT count(*)::int AS n, max(seq) AS last FROM case_events WHERE case_id = $1', [id]);
  expect(rows[0]).toEqual({ n: history.length, last: history.length });
  // The intake's memo went with the case into every run: a retried intake still finds its case.
  const retried = await sys.call('POST', '/v1/service-requests', intake);
  expect({ status: retried.status, id: retried.body.id, state: retried.body.status }).toEqual({ status: 200, id, state: 'closed' });
  const deliveries = sim.received.filter((d) => d.body.caseId === id).map((d) => d.deliveryId);
  expect(new Set(deliveries).size).toBe(deliveries.length);
}, 180_000);
