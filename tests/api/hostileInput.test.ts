/**
 * No input freezes a case (issue 11, part 3). Each input below once passed validation and
 * then froze a case or answered 500: half an emoji in a note, an extension past the year
 * 9999, a window of 99999999999 weeks, forged cursors, a body nested 150,000 levels deep,
 * `communities: []`. Against the real API, worker, Temporal dev server and Postgres; each
 * case that was touched still reaches `closed`.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, type MetricMeter, type MetricTags } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { DOMAIN_METRICS } from '../../src/activities/domainMetrics';
import { encodeCursor } from '../../src/db/cursor';
import { createPool } from '../../src/db/pool';
import { unresolvedRejections } from '../../src/db/readModelRejections';
import { exitStatus } from '../../src/reconcile';
import { reconcileReadModel } from '../../src/reconciliation/reconcileReadModel';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { event, snapshot } from '../support/readModelFixtures';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let supervisor: string;
const sims: PartnerSimulator[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff');
  supervisor = await sys.createKey('supervisor');
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await sys?.stop();
});

const HALF_EMOJI = '\\ud83d'; // as a JSON escape: the high half of 😀 with no low half after it

/** A raw JSON request, so the body can carry what JSON.stringify would never produce. */
const rawCall = (method: string, path: string, key: string, raw: string) =>
  sys.call(method, path, { key, raw, headers: { 'content-type': 'application/json' } });
const act = (id: string, action: string, key: string, body: unknown = {}) => sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body });
const get = async (id: string) => (await sys.call('GET', `/v1/service-requests/${id}`, { key: staff })).body;
const statusOf = (id: string, status: string) => eventually(() => get(id), { accept: (c) => c.status === status, what: `status ${status}` });

const partnerKeys = new Map<string, string>();

/** A case whose order a partner has accepted (a new partner each time; the dispatcher may pick any of them). */
async function acceptedCase(): Promise<{ id: string; partnerKey: string }> {
  const sim = await startPartnerSimulator();
  sims.push(sim);
  const created = await sys.createPartner({ name: `物业-${sims.length}`, webhookUrl: sim.url, webhookSecret: sim.secret });
  partnerKeys.set(created.id, created.key);
  const res = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { name: '王奶奶', phone: '13712345678', community: sys.community }, category: 'housing', description: '水管漏水', urgency: 'normal', channel: 'phone' },
  });
  expect(res.status).toBe(201);
  const offered = await statusOf(res.body.id, 'awaiting_ack');
  const partnerKey = partnerKeys.get(offered.assignedPartnerId)!;
  expect((await act(res.body.id, 'accept', partnerKey)).status).toBe(200);
  return { id: res.body.id, partnerKey };
}

/** Complete, visit and survey: the case must still move after the refused input. */
async function closeCase(id: string, partnerKey: string): Promise<void> {
  expect((await act(id, 'complete', partnerKey, { note: '已修好 😀' })).status).toBe(200);
  expect((await act(id, 'follow-up', staff, { resolved: true, note: '回访满意' })).status).toBe(200);
  expect((await act(id, 'survey', staff, { score: 5 })).body.status).toBe('closed');
  const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`)).body as { seq: number; type: string }[], {
    accept: (h) => h.some((e) => e.type === 'closed'), what: 'closed in the read model',
  });
  expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i + 1));
}

function expectProblem(res: { status: number; body: any; headers: Headers }, status: number, path: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
}

it('refuses half an emoji anywhere in a body or query with a 400 naming the field, and the case goes on to closed', async () => {
  const { id, partnerKey } = await acceptedCase();
  const note = await rawCall('POST', `/v1/service-requests/${id}/progress`, partnerKey, `{"note":"缺配件 ${HALF_EMOJI}"}`);
  expectProblem(note, 400, 'body.note');
  expect(note.body.errors[0].message).toMatch(/surrogate/);
  // The low half alone, and in a field name, are as bad.
  expectProblem(await rawCall('POST', `/v1/service-requests/${id}/progress`, partnerKey, '{"note":"\\ude00 x"}'), 400, 'body.note');
  expectProblem(await rawCall('POST', `/v1/service-requests/${id}/progress`, partnerKey, `{"n${HALF_EMOJI}":"x"}`), 400, `body.n\ud83d`);
  // A whole emoji is fine.
  expect((await act(id, 'progress', partnerKey, { note: '缺配件 😀' })).status).toBe(200);
  await closeCase(id, partnerKey);
});

it('caps durations: an extension of P420000W or more than P90D is a 400 naming extraTime, and the case goes on to closed', async () => {
  const { id, partnerKey } = await acceptedCase();
  for (const extraTime of ['P420000W', 'P99999999999W', 'P91D', `PT${'9'.repeat(40)}S`]) {
    expectProblem(await act(id, 'extension', partnerKey, { extraTime, reason: '配件缺货' }), 400, 'body.extraTime');
  }
  expect((await act(id, 'extension', partnerKey, { extraTime: 'P90D', reason: '配件缺货' })).status).toBe(200);
  const decided = await act(id, 'extension-decision', supervisor, { approve: true });
  expect(decided.status).toBe(200);
  const due = Date.parse(decided.body.deadlines.fulfilment);
  expect(due).toBeGreaterThan(Date.now() + 89 * 86_400_000);
  await closeCase(id, partnerKey);
});

it('caps the window of /v1/timeouts and the fields of SLA policies', async () => {
  expectProblem(await sys.call('GET', '/v1/timeouts?within=P99999999999W'), 400, 'query.within');
  expectProblem(await sys.call('GET', '/v1/timeouts?within=P91D'), 400, 'query.within');
  expect((await sys.call('GET', '/v1/timeouts?within=P90D')).status).toBe(200);
  const put = (fields: Record<string, unknown>) => sys.call('PUT', '/v1/sla-policies', { key: supervisor, body: { caseType: 'service_request', category: 'transport', ...fields } });
  expectProblem(await put({ fulfilmentTimeout: 'P366D' }), 400, 'body.fulfilmentTimeout');
  expectProblem(await put({ ackTimeout: 'P420000W' }), 400, 'body.ackTimeout');
  expectProblem(await sys.call('PUT', '/v1/sla-policies', { key: supervisor, body: { caseType: 'registration', surveyWindow: 'P53W' } }), 400, 'body.surveyWindow');
  expect((await put({ fulfilmentTimeout: 'P365D' })).status).toBe(200);
});

it('answers a forged cursor on every list with a 400 naming cursor', async () => {
  const sim = await startPartnerSimulator();
  sims.push(sim);
  const partner = await sys.createPartner({ name: '游标物业', webhookUrl: sim.url, webhookSecret: sim.secret });
  const lists: [string, string, string[]][] = [
    ['/v1/partners?', sys.adminKey, ['createdAt', 'id']],
    ['/v1/api-keys?', sys.adminKey, ['createdAt', 'id']],
    ['/v1/partners/me/orders?', partner.key, ['offeredAt', 'orderId']],
    ['/v1/audit?', sys.adminKey, ['id']],
    [`/v1/cases?community=${encodeURIComponent(sys.community)}&`, sys.adminKey, ['createdAt', 'id']],
    ['/v1/timeouts?', sys.adminKey, ['dueAt', 'caseId', 'kind']],
  ];
  const forgeries = (fields: string[]) => [
    Object.fromEntries(fields.map((f) => [f, 'x'])),
    Object.fromEntries(fields.map((f) => [f, /At$/.test(f) ? '99999-01-01T00:00:00Z' : '1e99'])),
    Object.fromEntries(fields.map((f) => [f, /At$/.test(f) ? '2026-02-30T00:00:00Z' : 'a\u0000b'])),
    Object.fromEntries(fields.map((f) => [f, 42])),
  ];
  for (const [path, key, fields] of lists) {
    for (const forged of forgeries(fields)) {
      const res = await sys.call('GET', `${path}cursor=${encodeCursor(forged as Record<string, string>)}`, { key });
      expect({ path, forged, status: res.status }).toEqual({ path, forged, status: 400 });
      expect(res.body.errors[0].path).toBe('query.cursor');
    }
    expect((await sys.call('GET', `${path}cursor=%F0%9F`, { key })).status).toBe(400);
  }
  // A cursor the list made still pages.
  const first = await sys.call('GET', '/v1/partners?limit=1');
  expect(first.body.nextCursor).toEqual(expect.any(String));
  expect((await sys.call('GET', `/v1/partners?limit=1&cursor=${first.body.nextCursor}`)).status).toBe(200);
});

it('refuses a body nested 150,000 levels deep (under 1 MB) with a problem, not a 500', async () => {
  const depth = 150_000;
  const raw = `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  expect(raw.length).toBeLessThan(1024 * 1024);
  const res = await rawCall('POST', '/v1/partners', sys.adminKey, raw);
  expectProblem(res, 400, 'body');
  expect(res.body.detail).toMatch(/deeper than/);
  // Brackets inside strings do not count; a shallow body is judged by its schema as before.
  const shallow = await rawCall('POST', '/v1/partners', sys.adminKey, `{"name":"${'['.repeat(depth)}"}`);
  expect(shallow.status).toBe(400);
  expect(shallow.body.detail).not.toMatch(/deeper than/);
  expect((await sys.call('GET', '/healthz')).status).toBe(200);
});

it('refuses communities: [] on an API key (leave the field out for no scope)', async () => {
  const res = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: '空社区', communities: [] } });
  expectProblem(res, 400, 'body.communities');
  expect(res.body.errors[0].message).toMatch(/leave the field out/);
  expect((await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: '不限社区' } })).status).toBe(201);
});

describe('a read-model batch Postgres refuses for its data', () => {
  const counted: { name: string; value: number; tags: MetricTags }[] = [];
  const meter: MetricMeter = {
    createCounter: (name: string) => ({ name, kind: 'counter', valueType: 'int', add: (value: number, tags: MetricTags = {}) => { counted.push({ name, value, tags }); }, withTags: () => { throw new Error('unused'); } }) as never,
    createHistogram: () => { throw new Error('unused'); },
    createGauge: () => { throw new Error('unused'); },
    withTags: () => meter,
  };
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const env = () => new MockActivityEnvironment(undefined, { metricMeter: meter, logger: quiet });

  it('fails at once (non-retryable), is counted, and makes reconcile exit 3 until the events are stored', async () => {
    const activities = createActivities({ pool: sys.pool });
    const community = `${sys.community}-rejected`;
    const s = snapshot(community, { id: `rejected-${Date.now()}` });
    const bad = { events: [event(1, 'intake', { note: 'half \ud83d' })], snapshot: s };
    const err = await env().run(activities.recordCaseEvents, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ nonRetryable: true, type: 'ReadModelDataError' });
    expect((err as ApplicationFailure).message).toMatch(/SQLSTATE 22/);
    expect(counted).toEqual([expect.objectContaining({ name: DOMAIN_METRICS.readModelRejections, value: 1, tags: expect.objectContaining({ case_type: 'service_request' }) })]);

    // A deadline past the year 9999 is refused before any SQL runs: nothing of the batch is written.
    const late = snapshot(community, { id: `late-${Date.now()}`, deadlines: { fulfilment: '+420000-01-01T00:00:00.000Z' } });
    const lateErr = await env().run(activities.recordCaseEvents, { events: [event(1)], snapshot: late }).catch((e: unknown) => e);
    expect(lateErr).toMatchObject({ nonRetryable: true, type: 'ReadModelDataError' });
    expect((lateErr as Error).message).toMatch(/deadline fulfilment/);
    expect((await sys.pool.query('SELECT 1 FROM cases WHERE id = $1', [late.id])).rowCount).toBe(0);

    const scope = { client: sys.client, pool: sys.pool, community, taskQueue: sys.taskQueue };
    const summary = await reconcileReadModel(scope);
    expect(summary.rejected).toBe(2);
    expect(summary.cases.find((c) => c.caseId === s.id)).toMatchObject({ outcome: 'rejected', reasons: [expect.stringMatching(/events 1\.\.1 refused/)] });
    expect(exitStatus(summary, false)).toBe(3);

    // Fixed and written again: no longer reported.
    await env().run(activities.recordCaseEvents, { events: [event(1, 'intake', { note: 'half 😀' })], snapshot: s });
    await env().run(activities.recordCaseEvents, { events: [event(1)], snapshot: { ...late, deadlines: {} } });
    expect(await unresolvedRejections(sys.pool, community)).toEqual([]);
    const after = await reconcileReadModel(scope);
    expect(after.rejected).toBe(0);
    expect(exitStatus(after, false)).toBe(0);
  });

  it('still retries what is not a data error (a broken connection is not refused for good)', async () => {
    // A real pool towards a port nobody listens on.
    const down = createPool('postgres://postgres@127.0.0.1:1/none', 1);
    try {
      const err = await env().run(createActivities({ pool: down }).recordCaseEvents, { events: [event(1)], snapshot: snapshot(sys.community) }).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(ApplicationFailure);
      expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    } finally {
      await down.end();
    }
  });
});
