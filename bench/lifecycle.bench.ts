/**
 * Lifecycle: resident requests through their whole life (intake, dispatch, the partner's
 * webhook, accept and complete by the partner, the staff's follow-up visit and survey,
 * closed) through the REST API and the production worker (createCaseWorker, payload
 * codec, read model in Postgres, signed webhooks to a loopback partner system), against a
 * bare workflow with the same number of activities and updates (bench/bare) driven by a
 * bare SDK client, on the same Temporal server in the same run.
 *
 * At most BENCH_LIFECYCLE_INFLIGHT cases are open at a time on either side (a new one is
 * opened when one closes), so both run at their sustained rate rather than piling up.
 * Prints cases/s, `lifecycle ratio: X` (goal >= 0.7, issue 17; 0.5 in the first round), CPU per case of this process,
 * the Temporal server and Postgres, history events per case, and a CPU profile.
 *
 *   BENCH_LIFECYCLE_CASES (1000 per side), BENCH_LIFECYCLE_INFLIGHT (64), BENCH_LIFECYCLE_THINK_MS (250),
 *   BENCH_LIFECYCLE_PROFILE_CASES (100; 0 = no profile), BENCH_LIFECYCLE_DIAGNOSE=1 (also the bare
 *   workflow with the case workflows' search-attribute upserts, and the production workflow and
 *   worker driven by the SDK client: splits the ratio into its parts),
 *   BENCH_ENFORCE=0 to only report
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { UpdateDefinition } from '@temporalio/common';
import { webhookSecretBoxFor } from '../src/crypto/secretBox';
import { insertPartner } from '../src/db/partners';
import { loadSlaPolicies } from '../src/db/slaPolicies';
import type { ServiceRequestState } from '../src/domain/serviceRequest';
import { resolveServiceRequestSla, type ServiceRequestSlaSnapshot } from '../src/domain/sla';
import * as m from '../src/workflows/messages';
import { serviceRequestWorkflowId } from '../src/workflows/messages';
import { createBareActivities } from './bare/activities';
import { type BareCaseInput, bareAccept, bareCase, bareComplete, bareFollowUp, bareSurvey } from './bare/workflows';
import { historyShape } from './support/lifecycleDriver';
import { goal } from './support/goals';
import { printProfile, profiled, profilePath } from './support/profile';
import { type BenchServices, benchConfig, type CpuSpent, machine, out, pooled, startBenchServices, withCpu } from './support/services';
import { type ApiSystem, benchIntake, plainClient, rawStart, startApiSystem, startCaseWorker } from './support/system';

const N = Number(process.env.BENCH_LIFECYCLE_CASES ?? 1000);
const IN_FLIGHT = Number(process.env.BENCH_LIFECYCLE_INFLIGHT ?? 64);
/**
 * Pause before each action, on both sides. Real partners and staff act hours apart, so each
 * transition is written (one read-model activity, one search-attribute upsert) and waits on
 * its deadline timer before the next; back-to-back actions would let the case batch them.
 */
const THINK_MS = Number(process.env.BENCH_LIFECYCLE_THINK_MS ?? 250);
const think = () => new Promise((resolve) => setTimeout(resolve, THINK_MS));
const PROFILE_CASES = Number(process.env.BENCH_LIFECYCLE_PROFILE_CASES ?? 100);
/** Also run the in-between variants (see the header): splits the ratio into search attributes, workflow + worker, REST API. */
const DIAGNOSE = process.env.BENCH_LIFECYCLE_DIAGNOSE === '1';
const ENFORCE = process.env.BENCH_ENFORCE !== '0';
const PARTNERS = 10;
const COMMUNITY = '幸福里社区';
const CASE_DEADLINE_MS = 120_000;

let services: BenchServices;
let api: ApiSystem;
let caseWorker: { stop(): Promise<void> };
let bare: { client: Client; close(): Promise<void> };
let bareWorker: { worker: Worker; connection: NativeConnection; running: Promise<void> };
let simulator: http.Server;
let staffKey: string;
const partnerKeys: string[] = [];
const partnerIds: string[] = [];
let sla: ServiceRequestSlaSnapshot;
const bareQueue = `bench-bare-${randomUUID()}`;
let lastBareCase = '';

/** Per case: resolved when its last action has answered (or rejected with what went wrong). */
const served = new Map<string, { promise: Promise<void>; resolve(): void; reject(err: Error): void }>();
function servedOf(caseId: string) {
  let entry = served.get(caseId);
  if (!entry) {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => undefined);
    entry = { promise, resolve, reject };
    served.set(caseId, entry);
  }
  return entry;
}
async function untilServed(caseId: string): Promise<void> {
  const entry = servedOf(caseId);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([entry.promise, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`case ${caseId} not served within ${CASE_DEADLINE_MS} ms`)), CASE_DEADLINE_MS); })]);
  } finally {
    clearTimeout(timer);
    served.delete(caseId);
  }
}

// ---- the REST side: a loopback client and a partner system that acts on each dispatched order ----

/** Idle sockets are dropped before the server's 5 s keep-alive timeout would close them under us. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
function apiCall(method: string, path: string, key: string, body?: unknown, retries = 3): Promise<{ status: number; json: any }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const url = new URL(path, api.url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method, agent,
      headers: { authorization: `Bearer ${key}`, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while idle: the request never reached it, send it again.
      if (req.reusedSocket && err.code === 'ECONNRESET' && retries > 0) resolve(apiCall(method, path, key, body, retries - 1));
      else reject(new Error(`${method} ${path}: ${err.message} (${err.code}, reused socket: ${req.reusedSocket})`));
    });
    if (payload) req.write(payload);
    req.end();
  });
}

async function act(caseId: string, action: string, key: string, body: unknown, expected: string): Promise<void> {
  const res = await apiCall('POST', `/v1/service-requests/${caseId}/${action}`, key, body);
  if (res.status !== 200 || res.json?.status !== expected) {
    throw new Error(`${action} on ${caseId} answered ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
  }
}

/** The partner accepts and completes; the community staff visit and take the survey. */
async function serveThroughApi(caseId: string, partner: number): Promise<void> {
  const entry = servedOf(caseId);
  try {
    await think();
    await act(caseId, 'accept', partnerKeys[partner], {}, 'in_progress');
    await think();
    await act(caseId, 'complete', partnerKeys[partner], { note: '换了楼道灯泡', hoursSpent: 0.5 }, 'awaiting_follow_up');
    await think();
    await act(caseId, 'follow-up', staffKey, { resolved: true, note: '居民确认已修好' }, 'awaiting_survey');
    await think();
    await act(caseId, 'survey', staffKey, { score: 5, comment: '很满意' }, 'closed');
    entry.resolve();
  } catch (err) {
    entry.reject(err as Error);
  }
}

async function startPartnerSystem(): Promise<string> {
  simulator = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.statusCode = 200;
      res.end();
      const partner = Number(/\/p\/(\d+)/.exec(req.url ?? '')?.[1]);
      const delivery = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; caseId: string };
      if (delivery.event !== 'order.dispatched') return;
      if (driver === 'api') void serveThroughApi(delivery.caseId, partner);
      else void serveThroughSdk(delivery.caseId, partner);
    });
  });
  await new Promise<void>((resolve) => simulator.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(simulator.address() as AddressInfo).port}`;
}

async function openCaseThroughApi(): Promise<void> {
  const res = await apiCall('POST', '/v1/service-requests', staffKey, benchIntake(COMMUNITY));
  if (res.status !== 201) throw new Error(`intake answered ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
  const caseId = res.json.id as string;
  await untilServed(caseId);
  await api.client.workflow.getHandle(serviceRequestWorkflowId(caseId)).result();
}

// ---- diagnostics: the production workflow and worker driven by the SDK client, no REST API ----

/** Who acts on a dispatched order: the REST API (the bench), or the codec client directly (BENCH_LIFECYCLE_DIAGNOSE=1). */
let driver: 'api' | 'sdk' = 'api';

async function serveThroughSdk(caseId: string, partner: number): Promise<void> {
  const entry = servedOf(caseId);
  const handle = api.client.workflow.getHandle(serviceRequestWorkflowId(caseId));
  const step = async <A>(def: UpdateDefinition<ServiceRequestState, [A]>, arg: A, expected: string) => {
    const state = await handle.executeUpdate(def, { args: [arg] });
    if (state.status !== expected) throw new Error(`${def.name} on ${caseId} left it ${state.status}`);
  };
  try {
    const partnerId = partnerIds[partner];
    await think();
    await step(m.acceptOrder, { partnerId, actor: 'partner:bench' }, 'in_progress');
    await think();
    await step(m.completeOrder, { partnerId, actor: 'partner:bench', note: '换了楼道灯泡', hoursSpent: 0.5 }, 'awaiting_follow_up');
    await think();
    await step(m.recordFollowUp, { resolved: true, note: '居民确认已修好', actor: 'staff:bench' }, 'awaiting_survey');
    await think();
    await step(m.recordSurvey, { score: 5, comment: '很满意', actor: 'staff:bench' }, 'closed');
    entry.resolve();
  } catch (err) {
    entry.reject(err as Error);
  }
}

async function openCaseThroughSdk(): Promise<void> {
  const caseId = await rawStart(api.client, api.config.TEMPORAL_TASK_QUEUE, sla, benchIntake(COMMUNITY))();
  await untilServed(caseId);
  await api.client.workflow.getHandle(serviceRequestWorkflowId(caseId)).result();
}

// ---- the bare side: the same shape on the bare SDK ----

async function serveBare(caseId: string): Promise<void> {
  const entry = servedOf(caseId);
  try {
    const handle = bare.client.workflow.getHandle(`bare:${caseId}`);
    await think();
    await handle.executeUpdate(bareAccept, { args: ['partner'] });
    await think();
    await handle.executeUpdate(bareComplete, { args: ['partner'] });
    await think();
    await handle.executeUpdate(bareFollowUp, { args: ['staff'] });
    await think();
    await handle.executeUpdate(bareSurvey, { args: ['staff'] });
    entry.resolve();
  } catch (err) {
    entry.reject(err as Error);
  }
}

async function openBareCase(upsertStatus = false): Promise<void> {
  const caseId = randomUUID();
  if (!upsertStatus) lastBareCase = caseId;
  const handle = await bare.client.workflow.start(bareCase, {
    workflowId: `bare:${caseId}`, taskQueue: bareQueue, args: [{ caseId, partnerId: 'p', upsertStatus } satisfies BareCaseInput],
  });
  await untilServed(caseId);
  await handle.result();
}

beforeAll(async () => {
  services = await startBenchServices('lifecycle');
  const config = benchConfig(services, { TEMPORAL_TASK_QUEUE: `bench-lifecycle-${randomUUID()}` });
  const [apiSystem, bareClient, bundle, partnerSystemUrl] = await Promise.all([
    startApiSystem(services, config),
    plainClient(services),
    bundleWorkflowCode({ workflowsPath: require.resolve('./bare/workflows'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => out(m) } }),
    startPartnerSystem(),
  ]);
  api = apiSystem;
  bare = bareClient;
  caseWorker = await startCaseWorker(services, config, api.pool);
  const connection = await NativeConnection.connect({ address: services.temporalAddress });
  const worker = await Worker.create({
    connection, taskQueue: bareQueue, workflowBundle: { code: bundle.code },
    activities: createBareActivities((caseId) => { void serveBare(caseId); }),
  });
  bareWorker = { worker, connection, running: worker.run() };

  staffKey = await api.createKey('staff');
  // Written straight to Postgres: production mode takes https webhook addresses only, and the partner system is loopback http.
  const box = webhookSecretBoxFor(config);
  for (let i = 0; i < PARTNERS; i++) {
    const row = await insertPartner(api.pool, {
      name: `幸福里物业 ${i + 1} 队`, kind: 'property_company', categories: ['housing'], communities: [COMMUNITY],
      capacity: 10_000, webhookUrl: `${partnerSystemUrl}/p/${i}`, webhookSecret: `bench-partner-secret-${i}-0123456789`,
    }, box);
    partnerIds.push(row.id);
    partnerKeys.push(await api.createKey('partner', { partnerId: row.id }));
  }
  sla = resolveServiceRequestSla(await loadSlaPolicies(api.pool), 'housing', 'normal');
});

afterAll(async () => {
  if (bareWorker) {
    bareWorker.worker.shutdown();
    await bareWorker.running;
    await bareWorker.connection.close();
  }
  await caseWorker?.stop();
  await api?.stop();
  await bare?.close();
  agent.destroy();
  simulator?.closeAllConnections();
  await new Promise((resolve) => (simulator ? simulator.close(resolve) : resolve(undefined)));
  await services?.stop();
});

interface SidePhase extends CpuSpent { cases: number }

it('runs resident requests through the whole lifecycle at >= 0.7 of the bare workflow rate', async () => {
  out(`\nLifecycle bench: ${machine()}`);
  out(`  ${N} cases per side, ${IN_FLIGHT} open at a time, ${THINK_MS} ms before each action; ${PARTNERS} partners (loopback webhooks); API + production worker in this process`);
  const run = (count: number, open: () => Promise<void>) => withCpu(services, () => pooled(count, IN_FLIGHT, () => open())).then((r): SidePhase => {
    if (process.env.BENCH_VERBOSE) out(`    ${open.name}: ${count} cases in ${r.seconds.toFixed(1)} s`);
    return { ...r, cases: count };
  });

  const openers = {
    real: openCaseThroughApi,
    bare: () => openBareCase(false),
    bareSa: () => openBareCase(true),
    sdk: openCaseThroughSdk,
  };
  type Side = keyof typeof openers;
  const phase = (side: Side, count: number) => {
    driver = side === 'sdk' ? 'sdk' : 'api';
    return run(count, openers[side]);
  };

  // Warm-up of both paths.
  await phase('real', Math.min(30, N));
  await phase('bare', Math.min(30, N));

  // Each side runs half its cases early and half late (bare, real, real, bare), so the server growing or a
  // neighbour's load hurts both alike. BENCH_LIFECYCLE_DIAGNOSE adds the in-between variants to the rotation.
  const order: Side[] = DIAGNOSE ? ['bare', 'bareSa', 'sdk', 'real'] : ['bare', 'real'];
  const half = Math.ceil(N / 2);
  const sides: Record<Side, SidePhase[]> = { real: [], bare: [], bareSa: [], sdk: [] };
  for (const side of [...order, ...[...order].reverse()]) sides[side].push(await phase(side, half));
  driver = 'api';

  const total = (ps: SidePhase[]) => {
    const cases = ps.reduce((s, p) => s + p.cases, 0);
    const perCase = (f: (p: SidePhase) => number) => (ps.reduce((s, p) => s + f(p), 0) / cases) * 1000;
    return {
      rate: cases / ps.reduce((s, p) => s + p.seconds, 0), rates: ps.map((p) => (p.cases / p.seconds).toFixed(1)).join(', '),
      ownMs: perCase((p) => p.ownCpu), temporalMs: perCase((p) => p.temporalCpu), postgresMs: perCase((p) => p.postgresCpu),
    };
  };
  const real = total(sides.real);
  const bareTotal = total(sides.bare);
  const ratio = real.rate / bareTotal.rate;
  const line = (name: string, t: ReturnType<typeof total>) =>
    out(`  ${name.padEnd(42)} ${t.rate.toFixed(1).padStart(6)} cases/s (halves ${t.rates})   CPU ms/case: this process ${t.ownMs.toFixed(1)}, Temporal ${t.temporalMs.toFixed(1)}, Postgres ${t.postgresMs.toFixed(1)}`);
  line('resident requests through the API', real);
  line('bare workflow, bare client', bareTotal);
  if (DIAGNOSE) {
    const bareSa = total(sides.bareSa);
    const sdk = total(sides.sdk);
    line('bare + the case\'s 6 search-attribute upserts', bareSa);
    line('production workflow + worker, SDK client', sdk);
    out(`  split (rate ratios): search attributes ${(bareSa.rate / bareTotal.rate).toFixed(2)}, rest of the workflow and worker ${(sdk.rate / bareSa.rate).toFixed(2)}, REST API ${(real.rate / sdk.rate).toFixed(2)}`);
  }
  goal('service request lifecycle ratio', ratio, 0.7, { op: '>=', note: `API + worker / bare, ${N} cases per side` });

  // History events per case, from a few closed cases of each kind.
  const { rows } = await api.pool.query<{ workflow_id: string }>(`SELECT workflow_id FROM cases WHERE status = 'closed' ORDER BY random() LIMIT 3`);
  const realShapes = await Promise.all(rows.map(async (r) => historyShape((await api.client.workflow.getHandle(r.workflow_id).fetchHistory()).events ?? [])));
  const bareShape = historyShape((await bare.client.workflow.getHandle(`bare:${lastBareCase}`).fetchHistory()).events ?? []);
  for (const s of realShapes) out(`  history of a resident request: ${s.total} events (${s.workflowTasks} workflow tasks, ${s.activities} activities, ${s.updates} updates, ${s.timers} timers, ${s.upserts} search-attribute upserts)`);
  out(`  history of a bare case:        ${bareShape.total} events (${bareShape.workflowTasks} workflow tasks, ${bareShape.activities} activities, ${bareShape.updates} updates, ${bareShape.timers} timers, ${bareShape.upserts} search-attribute upserts)`);
  const { rows: [counts] } = await api.pool.query<{ cases: number; events: number; attempts: number }>(
    `SELECT (SELECT count(*) FROM cases WHERE status = 'closed')::int AS cases, (SELECT count(*) FROM case_events)::int AS events, (SELECT count(*) FROM webhook_attempts)::int AS attempts`);
  out(`  read model: ${counts.cases} closed cases, ${(counts.events / counts.cases).toFixed(1)} timeline events and ${(counts.attempts / counts.cases).toFixed(1)} webhook attempts per case`);

  if (PROFILE_CASES > 0) {
    const { summary } = await profiled(profilePath(services.dir, 'lifecycle-process'), () => pooled(PROFILE_CASES, IN_FLIGHT, openCaseThroughApi));
    out(`  profile of ${PROFILE_CASES} more cases, main thread of this process (API, worker's activities and codec, partner simulator; workflow code runs in the worker's own thread):`);
    printProfile(summary, out);
  }
  out('');

  if (ENFORCE) expect(ratio).toBeGreaterThanOrEqual(0.7);
});
