/**
 * The worker is observable (issue 11, part 5): a worker started with its metrics port on
 * runs a case, and the port then shows the SDK's own metrics and the domain counters; the
 * SDK's logs come out of pino as JSON, redacted like every other log line.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Runtime } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { installWorkerRuntime } from '../../src/temporal/runtime';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let sim: PartnerSimulator;
let metricsUrl: string;
const logLines: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const sink = new Writable({ write(chunk, _enc, done) { logLines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const address = installWorkerRuntime({ log: createLogger('info', 'worker', sink), metricsHost: '127.0.0.1', metricsPort: await freePort() });
  expect(address).not.toBeNull();
  metricsUrl = `http://${address}/metrics`;
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

/** The value of one series (name and labels as the exporter writes them), summed over its other labels. */
function seriesValue(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

it('shows the SDK metrics and the domain counters after a case ran, on the worker metrics port', async () => {
  const staff = await sys.createKey('staff');
  const supervisor = await sys.createKey('supervisor');
  // An acknowledgement deadline of 2 s, one partner: the order times out (an SLA breach), then a supervisor assigns it.
  expect((await sys.call('PUT', '/v1/sla-policies', {
    key: supervisor, body: { caseType: 'service_request', category: 'clothing', reminderAfter: 'PT1S', ackTimeout: 'PT2S', maxDispatchAttempts: 1 },
  })).status).toBe(200);
  const partner = await sys.createPartner({ name: '衣物志愿队', kind: 'volunteer_team', categories: ['clothing'], webhookUrl: sim.url, webhookSecret: sim.secret });
  const before = await (await fetch(metricsUrl)).text();
  const opened = await sys.call('POST', '/v1/service-requests', {
    key: staff, body: { resident: { name: '李奶奶', phone: '13800001111', community: sys.community }, category: 'clothing', description: '冬衣', urgency: 'normal', channel: 'home_visit' },
  });
  expect(opened.status).toBe(201);
  const id = opened.body.id as string;
  const get = async () => (await sys.call('GET', `/v1/service-requests/${id}`, { key: staff })).body;
  await eventually(get, { accept: (c) => c.status === 'escalated', what: 'escalated after the acknowledgement timeout' });
  const act = (action: string, key: string, body: unknown = {}) => sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body });
  expect((await act('assign', supervisor, { partnerId: partner.id })).status).toBe(200);
  expect((await act('complete', partner.key, { note: '送到了' })).status).toBe(200);
  expect((await act('follow-up', staff, { resolved: true, note: '满意' })).status).toBe(200);
  expect((await act('survey', staff, { score: 5 })).body.status).toBe('closed');

  const types = (await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`)).body as { type: string }[], {
    accept: (h) => h.some((e) => e.type === 'closed'), what: 'closed in the read model',
  })).map((e) => e.type);
  expect(types).toEqual(expect.arrayContaining(['intake', 'ack_timeout', 'assigned', 'closed']));

  // Domain counters carry the activity meter's tags (taskQueue, activityType, namespace) besides their own.
  const q = { taskQueue: sys.taskQueue };
  // The workflow completes just after its last read-model write.
  await eventually(async () => seriesValue(await (await fetch(metricsUrl)).text(), 'temporal_workflow_completed_total', { task_queue: sys.taskQueue }), {
    accept: (n) => n >= 1, what: 'the workflow counted as completed',
  });
  const after = await (await fetch(metricsUrl)).text();
  // The SDK's own: workflow task and activity latency, schedule-to-start, slots, sticky cache.
  for (const name of [
    'temporal_workflow_task_execution_latency', 'temporal_activity_execution_latency',
    'temporal_workflow_task_schedule_to_start_latency', 'temporal_worker_task_slots_available', 'temporal_sticky_cache_size',
  ]) expect(after).toContain(`${name}`);
  expect(seriesValue(after, 'temporal_workflow_completed_total', { task_queue: sys.taskQueue, workflow_type: 'serviceRequest' })).toBe(1);
  expect(seriesValue(after, 'temporal_activity_execution_latency_count', { task_queue: sys.taskQueue, activity_type: 'recordCaseEvents' })).toBeGreaterThan(0);
  expect(seriesValue(after, 'gongjian_cases_opened_total', { ...q, case_type: 'service_request' })).toBe(1);
  expect(seriesValue(after, 'gongjian_sla_breaches_total', { ...q, case_type: 'service_request', kind: 'ack' })).toBe(1);
  const delivered = (t: string, event: string) => seriesValue(t, 'gongjian_webhook_attempts_total', { ...q, event, outcome: 'delivered' });
  expect(delivered(after, 'order.dispatched') - delivered(before, 'order.dispatched')).toBe(2);
  expect(delivered(after, 'order.withdrawn')).toBe(1);
});

it("logs the SDK's own messages through pino as JSON, redacted", async () => {
  const worker = logLines.map((l) => JSON.parse(l)).filter((l) => l.sdkComponent === 'worker');
  expect(worker.length).toBeGreaterThan(0);
  expect(worker[0]).toMatchObject({ service: 'worker', level: expect.any(Number), msg: expect.any(String) });
  Runtime.instance().logger.warn('a payload slipped into a log call', { resident: { name: '李奶奶', phone: '13800001111' } });
  const line = await eventually(() => logLines.find((l) => l.includes('a payload slipped')));
  expect(JSON.parse(line!)).toMatchObject({ level: 40, resident: { name: '[redacted]', phone: '[redacted]' } });
});
