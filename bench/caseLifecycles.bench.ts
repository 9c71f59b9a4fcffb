/**
 * Lifecycles of the other case types, like bench/lifecycle.bench.ts does for resident
 * requests: each case through its whole life through the REST API and the production worker
 * (createCaseWorker: payload codec, read model in Postgres, signed webhooks to loopback
 * partner systems), against a bare workflow with the same activities and updates
 * (bench/bare/workflows.ts) driven by a bare SDK client, same Temporal server, same run.
 *
 * - **Registration** (不动产登记, a mortgage with its bank linked): intake with complete
 *   documents (accepted at once), the three department reviews requested at the same time,
 *   each department approving through the API when its `review.requested` arrives, the
 *   certificate number drawn, the bank's `case.notice`, then staff mark it delivered and
 *   record the survey: closed. Prints `registration lifecycle ratio` (goal >= 0.6).
 * - **Care plan** (一人一策): a plan whose visits come due every BENCH_CARE_PLAN_EVERY_MS;
 *   the partner checks BENCH_CARE_PLAN_VISITS visits in and out as each `visit.scheduled`
 *   arrives, then staff end the plan (the one visit still scheduled is cancelled). The bare
 *   workflow announces its visits on the same rhythm. Prints `care plan lifecycle ratio`
 *   (reported, no goal).
 *
 * At most BENCH_CASE_LIFECYCLE_INFLIGHT cases are open at a time on either side; halves in the
 * order bare, API, API, bare, after a warm-up of both.
 *
 *   BENCH_CASE_LIFECYCLE_TYPES (registration,care_plan), BENCH_CASE_LIFECYCLE_CASES (300 per side),
 *   BENCH_CARE_PLAN_CASES (200 per side), BENCH_CASE_LIFECYCLE_INFLIGHT (32),
 *   BENCH_CASE_LIFECYCLE_THINK_MS (250, before each action), BENCH_CARE_PLAN_VISITS (3),
 *   BENCH_CARE_PLAN_EVERY_MS (200), BENCH_CARE_PLAN_FIRST_VISIT_MS (1500: the first visit is due this long after
 *   the plan is opened; it must still be in the future when the API checks it), BENCH_ENFORCE=0 to only report
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { webhookSecretBoxFor } from '../src/crypto/secretBox';
import { insertPartner, type PartnerFields } from '../src/db/partners';
import { caseWorkflowId } from '../src/domain/caseTypes';
import { DEPARTMENTS } from '../src/domain/vocabulary';
import { createBareActivities } from './bare/activities';
import {
  BARE_DEPARTMENTS, bareCarePlan, bareCheckIn, bareCheckOut, bareDelivered, bareEndPlan, bareRegistration, bareRegistrationSurvey, bareReview,
} from './bare/workflows';
import { goal } from './support/goals';
import { describeShape, historyShape, Mailbox, restClient } from './support/lifecycleDriver';
import { type BenchServices, benchConfig, type CpuSpent, machine, out, pooled, startBenchServices, withCpu } from './support/services';
import { type ApiSystem, plainClient, startApiSystem, startCaseWorker } from './support/system';

const TYPES = (process.env.BENCH_CASE_LIFECYCLE_TYPES ?? 'registration,care_plan').split(',').map((t) => t.trim());
const REGISTRATIONS = Number(process.env.BENCH_CASE_LIFECYCLE_CASES ?? 300);
const CARE_PLANS = Number(process.env.BENCH_CARE_PLAN_CASES ?? 200);
const IN_FLIGHT = Number(process.env.BENCH_CASE_LIFECYCLE_INFLIGHT ?? 32);
const THINK_MS = Number(process.env.BENCH_CASE_LIFECYCLE_THINK_MS ?? 250);
const VISITS = Number(process.env.BENCH_CARE_PLAN_VISITS ?? 3);
const EVERY_MS = Number(process.env.BENCH_CARE_PLAN_EVERY_MS ?? 200);
/** The first visit is due this long after the plan opens (it must be in the future when the API checks it). */
const FIRST_VISIT_MS = Number(process.env.BENCH_CARE_PLAN_FIRST_VISIT_MS ?? 1500);
const ENFORCE = process.env.BENCH_ENFORCE !== '0';
const COMMUNITY = '龙山社区';
const CASE_DEADLINE_MS = 120_000;

const think = () => new Promise((resolve) => setTimeout(resolve, THINK_MS));
const iso = (ms: number) => new Date(ms).toISOString();

let services: BenchServices;
let api: ApiSystem;
let caseWorker: { stop(): Promise<void> };
let bare: { client: Client; close(): Promise<void> };
let bareWorker: { worker: Worker; connection: NativeConnection; running: Promise<void> };
let simulator: http.Server;
let staffKey: string;
const departmentKeys: Record<string, string> = {};
let bankId: string;
let carePartnerId: string;
let carePartnerKey: string;
const bareQueue = `bench-bare-cases-${randomUUID()}`;
const mailbox = new Mailbox(CASE_DEADLINE_MS);
const rest = restClient(() => api.url);
const lastBare: Record<string, string> = {};

/** The partner systems: three departments, a bank and an eldercare partner, each on its own path. */
async function startPartnerSystems(): Promise<string> {
  simulator = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.statusCode = 200;
      res.end();
      const d = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; caseId: string; orderId: string; case: { department?: string; visitId?: string } };
      if (d.event === 'review.requested') mailbox.deliver(d.caseId, `review:${d.case.department}`);
      else if (d.event === 'case.notice') mailbox.deliver(d.caseId, 'notice');
      else if (d.event === 'visit.scheduled') mailbox.deliver(d.caseId, `scheduled:${d.case.visitId}`);
    });
  });
  await new Promise<void>((resolve) => simulator.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(simulator.address() as AddressInfo).port}`;
}

// ---- registration ----

const registrationBody = () => ({
  applicants: [{ name: '王强', idNumber: '220402198805120031', phone: '13904370000' }],
  property: { address: '辽源市龙山区向阳街12号', unitNo: '3-2-101', certificateNo: '吉(2019)辽源市不动产权第0004567号' },
  businessType: 'mortgage', documents: ['applicant_id', 'property_certificate', 'mortgage_contract', 'loan_contract'],
  delivery: 'window', linkedInstitutions: [bankId], community: COMMUNITY,
});

async function registrationThroughApi(): Promise<void> {
  const opened = await rest.call('POST', '/v1/registrations', staffKey, registrationBody());
  if (opened.status !== 201 || opened.json.status !== 'in_review') throw new Error(`intake answered ${opened.status} ${JSON.stringify(opened.json).slice(0, 300)}`);
  const id = opened.json.id as string;
  try {
    await Promise.all(DEPARTMENTS.map(async (department) => {
      await mailbox.wait(id, `review:${department}`);
      await think();
      await rest.act(`/v1/registrations/${id}/reviews/${department}`, departmentKeys[department], { approved: true }, (r) => r.reviews?.[department]?.status === 'approved');
    }));
    await mailbox.wait(id, 'notice');
    await think();
    await rest.act(`/v1/registrations/${id}/delivered`, staffKey, { note: '窗口领证' }, 'awaiting_survey');
    await think();
    await rest.act(`/v1/registrations/${id}/survey`, staffKey, { score: 5, comment: '一次办好' }, 'closed');
    await api.client.workflow.getHandle(caseWorkflowId('registration', id)).result();
  } finally {
    mailbox.forget(id);
  }
}

async function registrationBare(): Promise<void> {
  const caseId = randomUUID();
  lastBare.registration = `bare-registration:${caseId}`;
  const handle = await bare.client.workflow.start(bareRegistration, { workflowId: lastBare.registration, taskQueue: bareQueue, args: [{ caseId }] });
  try {
    await Promise.all(BARE_DEPARTMENTS.map(async (department) => {
      await mailbox.wait(caseId, `bare:${department}`);
      await think();
      await handle.executeUpdate(bareReview, { args: [department] });
    }));
    await mailbox.wait(caseId, 'bare:bank');
    await think();
    await handle.executeUpdate(bareDelivered, { args: ['staff'] });
    await think();
    await handle.executeUpdate(bareRegistrationSurvey, { args: ['staff'] });
    await handle.result();
  } finally {
    mailbox.forget(caseId);
  }
}

// ---- care plan ----

/** A schedule on which exactly VISITS + 1 visits fall before the end date: the partner works VISITS, the end cancels the last. */
function carePlanSchedule(first: number) {
  return {
    schedule: { firstVisitAt: iso(first), every: `PT${EVERY_MS / 1000}S`, visitLength: `PT${EVERY_MS / 2000}S`, lateAfter: 'PT1H', missedAfter: 'PT2H' },
    endsAt: iso(first + VISITS * EVERY_MS + EVERY_MS / 2),
  };
}

async function carePlanThroughApi(): Promise<void> {
  const opened = await rest.call('POST', '/v1/care-plans', staffKey, {
    resident: { name: '李桂芝', phone: '13904371111', community: COMMUNITY, address: '龙山区福民街8号', flags: ['elderly_alone'] },
    partnerId: carePartnerId, services: ['health_monitoring', 'rehab_massage'], ...carePlanSchedule(Date.now() + FIRST_VISIT_MS),
  });
  if (opened.status !== 201 || opened.json.status !== 'active') throw new Error(`intake answered ${opened.status} ${JSON.stringify(opened.json).slice(0, 300)}`);
  const id = opened.json.id as string;
  try {
    for (let visit = 1; visit <= VISITS; visit++) {
      const visitId = `visit-${visit}`;
      await mailbox.wait(id, `scheduled:${visitId}`);
      await think();
      await rest.act(`/v1/care-plans/${id}/visits/${visitId}/check-in`, carePartnerKey, { carer: '护工 张梅', location: '居民家中' },
        (p) => p.openVisits?.some((v: { visitId: string; status: string }) => v.visitId === visitId && v.status === 'in_progress'));
      await think();
      await rest.act(`/v1/care-plans/${id}/visits/${visitId}/check-out`, carePartnerKey, { services: ['health_monitoring'] }, (p) => p.visits?.completed === visit);
    }
    await mailbox.wait(id, `scheduled:visit-${VISITS + 1}`);
    await think();
    await rest.act(`/v1/care-plans/${id}/end`, staffKey, { reason: '居民搬去子女家同住' }, 'ended');
    await api.client.workflow.getHandle(caseWorkflowId('care_plan', id)).result();
  } finally {
    mailbox.forget(id);
  }
}

async function carePlanBare(): Promise<void> {
  const caseId = randomUUID();
  lastBare.care_plan = `bare-care-plan:${caseId}`;
  const handle = await bare.client.workflow.start(bareCarePlan, {
    workflowId: lastBare.care_plan, taskQueue: bareQueue,
    args: [{ caseId, firstVisitAtMs: Date.now() + FIRST_VISIT_MS, everyMs: EVERY_MS, visits: VISITS + 1 }],
  });
  try {
    for (let visit = 1; visit <= VISITS; visit++) {
      await mailbox.wait(caseId, `bare:visit-${visit}`);
      await think();
      await handle.executeUpdate(bareCheckIn, { args: [visit] });
      await think();
      await handle.executeUpdate(bareCheckOut, { args: [visit] });
    }
    await mailbox.wait(caseId, `bare:visit-${VISITS + 1}`);
    await think();
    await handle.executeUpdate(bareEndPlan, { args: ['staff'] });
    await handle.result();
  } finally {
    mailbox.forget(caseId);
  }
}

// ---- the system ----

beforeAll(async () => {
  services = await startBenchServices('cases');
  const config = benchConfig(services, { TEMPORAL_TASK_QUEUE: `bench-cases-${randomUUID()}` });
  const [apiSystem, bareClient, bundle, partnerUrl] = await Promise.all([
    startApiSystem(services, config),
    plainClient(services),
    bundleWorkflowCode({ workflowsPath: require.resolve('./bare/workflows'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => out(m) } }),
    startPartnerSystems(),
  ]);
  api = apiSystem;
  bare = bareClient;
  caseWorker = await startCaseWorker(services, config, api.pool);
  const connection = await NativeConnection.connect({ address: services.temporalAddress });
  const worker = await Worker.create({
    connection, taskQueue: bareQueue, workflowBundle: { code: bundle.code },
    activities: createBareActivities((caseId, tag) => mailbox.deliver(caseId, `bare:${tag}`)),
  });
  bareWorker = { worker, connection, running: worker.run() };

  staffKey = await api.createKey('staff');
  // Written straight to Postgres: production mode takes https webhook addresses only, and the partner systems are loopback http.
  const box = webhookSecretBoxFor(config);
  const partner = async (fields: Omit<PartnerFields, 'capacity' | 'webhookUrl' | 'webhookSecret'>, path: string, i: number) => {
    const row = await insertPartner(api.pool, {
      capacity: 10_000, webhookUrl: `${partnerUrl}/${path}`, webhookSecret: `bench-partner-secret-${i}-0123456789`, ...fields,
    }, box);
    return { id: row.id, key: await api.createKey('partner', { partnerId: row.id }) };
  };
  for (const [i, department] of DEPARTMENTS.entries()) {
    departmentKeys[department] = (await partner({ name: `辽源市${department}`, kind: 'department', department, categories: [], communities: [COMMUNITY] }, `d/${department}`, i)).key;
  }
  bankId = (await partner({ name: '工商银行辽源分行', kind: 'linked_institution', institution: 'bank', categories: [], communities: [] }, 'bank', 3)).id;
  const carer = await partner({ name: '夕阳红养老服务中心', kind: 'social_org', categories: ['medical'], communities: [COMMUNITY] }, 'care', 4);
  carePartnerId = carer.id;
  carePartnerKey = carer.key;
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
  rest.destroy();
  simulator?.closeAllConnections();
  await new Promise((resolve) => (simulator ? simulator.close(resolve) : resolve(undefined)));
  await services?.stop();
});

interface SidePhase extends CpuSpent { cases: number }

/** Both sides of one case type: warm-up, then halves bare, API, API, bare; rates, CPU per case, history shapes; the ratio against its goal. */
async function compare(opts: {
  type: 'registration' | 'care_plan'; label: string; cases: number; goal: number | null;
  viaApi: () => Promise<void>; viaBare: () => Promise<void>; finalStatus: string;
}): Promise<boolean> {
  const run = (count: number, open: () => Promise<void>) => withCpu(services, () => pooled(count, IN_FLIGHT, () => open()))
    .then((r): SidePhase => ({ ...r, cases: count }));
  out(`\n${opts.label} lifecycle bench: ${machine()}`);
  out(`  ${opts.cases} cases per side, ${IN_FLIGHT} open at a time, ${THINK_MS} ms before each action; API + production worker in this process`);
  await run(Math.min(10, opts.cases), opts.viaApi);
  await run(Math.min(10, opts.cases), opts.viaBare);
  const half = Math.ceil(opts.cases / 2);
  const sides = { api: [] as SidePhase[], bare: [] as SidePhase[] };
  for (const side of ['bare', 'api', 'api', 'bare'] as const) sides[side].push(await run(half, side === 'api' ? opts.viaApi : opts.viaBare));

  const total = (ps: SidePhase[]) => {
    const cases = ps.reduce((s, p) => s + p.cases, 0);
    const perCase = (f: (p: SidePhase) => number) => (ps.reduce((s, p) => s + f(p), 0) / cases) * 1000;
    return {
      rate: cases / ps.reduce((s, p) => s + p.seconds, 0), rates: ps.map((p) => (p.cases / p.seconds).toFixed(1)).join(', '),
      ownMs: perCase((p) => p.ownCpu), temporalMs: perCase((p) => p.temporalCpu), postgresMs: perCase((p) => p.postgresCpu),
    };
  };
  const viaApi = total(sides.api);
  const viaBare = total(sides.bare);
  const line = (name: string, t: ReturnType<typeof total>) =>
    out(`  ${name.padEnd(36)} ${t.rate.toFixed(1).padStart(6)} cases/s (halves ${t.rates})   CPU ms/case: this process ${t.ownMs.toFixed(1)}, Temporal ${t.temporalMs.toFixed(1)}, Postgres ${t.postgresMs.toFixed(1)}`);
  line(`${opts.label}s through the API`, viaApi);
  line('bare workflow, bare client', viaBare);

  const { rows } = await api.pool.query<{ workflow_id: string }>(`SELECT workflow_id FROM cases WHERE type = $1 AND status = $2 ORDER BY random() LIMIT 3`, [opts.type, opts.finalStatus]);
  for (const r of rows) out(`  history of a ${opts.label}: ${describeShape(historyShape((await api.client.workflow.getHandle(r.workflow_id).fetchHistory()).events ?? []))}`);
  out(`  history of its bare twin: ${describeShape(historyShape((await bare.client.workflow.getHandle(lastBare[opts.type]).fetchHistory()).events ?? []))}`);
  const { rows: [counts] } = await api.pool.query<{ cases: number; events: number; attempts: number }>(
    `SELECT count(*)::int AS cases, (SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.type = $1)::int AS events,
       (SELECT count(*) FROM webhook_attempts a JOIN cases c ON c.id = a.case_id WHERE c.type = $1)::int AS attempts
     FROM cases WHERE type = $1 AND status = $2`, [opts.type, opts.finalStatus]);
  out(`  read model: ${counts.cases} ${opts.finalStatus} ${opts.label}s, ${(counts.events / counts.cases).toFixed(1)} timeline events and ${(counts.attempts / counts.cases).toFixed(1)} webhook attempts per case`);
  const met = goal(`${opts.label} lifecycle ratio`, viaApi.rate / viaBare.rate, opts.goal, {
    op: '>=', note: `API + worker ${viaApi.rate.toFixed(1)}/s / bare ${viaBare.rate.toFixed(1)}/s, ${opts.cases} cases per side`,
  });
  out('');
  return met;
}

// BENCH_CASE_LIFECYCLE_TYPES picks the case types measured (both by default).
if (TYPES.includes('registration')) it('runs registrations through their whole life at >= 0.6 of the bare workflow rate', async () => {
  const met = await compare({
    type: 'registration', label: 'registration', cases: REGISTRATIONS, goal: 0.6, finalStatus: 'closed',
    viaApi: registrationThroughApi, viaBare: registrationBare,
  });
  if (ENFORCE) expect(met).toBe(true);
});

if (TYPES.includes('care_plan')) it('runs care plans (visits checked in and out, then ended) and reports their ratio to the bare workflow', async () => {
  await compare({
    type: 'care_plan', label: 'care plan', cases: CARE_PLANS, goal: null, finalStatus: 'ended',
    viaApi: carePlanThroughApi, viaBare: carePlanBare,
  });
});
