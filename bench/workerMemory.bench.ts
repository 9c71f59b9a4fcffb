/**
 * Worker memory: the resident set (VmRSS) of a production worker process (the command line of
 * `npm run worker`: `node <heap flags> dist/worker.js`, built by `node scripts/build.js`, with
 * a prebuilt workflow bundle as in the Docker image) holding 10k open resident requests that
 * wait, idle.
 *
 * The cases are opened with the API's own workflow start (codec client, the same input).
 * Nine in ten are for a community no partner serves: each is recorded, finds nobody,
 * escalates and waits for a supervisor (3 activities). One in ten goes to a partner that
 * takes the webhook and never acknowledges: it waits on its reminder and acknowledgement
 * timers (5 activities). The worker holds either kind the same way (timers live in the
 * server); the mix keeps the run short. RSS is sampled from /proc/<pid>/status while the
 * cases are opened, and for a few seconds once all wait. Baseline: the same process with no case.
 *
 *   BENCH_MEMORY_CASES (10000), BENCH_MEMORY_TIMER_EVERY (10), BENCH_MEMORY_CONCURRENCY (64), BENCH_MEMORY_WORKER_ENV ("K=V K=V",
 *   extra environment of the worker process), BENCH_MEMORY_WORKER_LOG (a file for the worker's
 *   output), BENCH_MEMORY_NODE_FLAGS (node flags of the worker process), BENCH_MEMORY_SMAPS (a file
 *   for its /proc/<pid>/smaps once idle), BENCH_ENFORCE=0 to only report
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { webhookSecretBoxFor } from '../src/crypto/secretBox';
import { insertPartner } from '../src/db/partners';
import { loadSlaPolicies } from '../src/db/slaPolicies';
import { resolveServiceRequestSla } from '../src/domain/sla';
import { payloadCodecFor } from '../src/temporal/codec';
import { connectClient } from '../src/temporal/connection';
import { type BenchServices, benchConfig, benchPool, machine, out, PAYLOAD_KEYS, pooled, processCpuSeconds, startBenchServices, withCpu } from './support/services';
import { goal } from './support/goals';
import { benchIntake, rawStart } from './support/system';
import { mb, memoryOf, productionWorkerFlags, startWorkerProcess, stopWorkerProcess, WORKER_JS, writeWorkflowBundle } from './support/workerProcess';

const N = Number(process.env.BENCH_MEMORY_CASES ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_MEMORY_CONCURRENCY ?? 64);
const ENFORCE = process.env.BENCH_ENFORCE !== '0';
const GOAL_MB = 300;
const IDLE_SAMPLE_MS = Number(process.env.BENCH_MEMORY_IDLE_MS ?? 5000);
const COMMUNITY = '无人服务的社区';
const SILENT_PARTNER_COMMUNITY = '物业不回应的社区';
/** Every TIMER_EVERY-th case goes to a partner that never acknowledges: it waits on its reminder and acknowledgement timers. */
const TIMER_EVERY = Number(process.env.BENCH_MEMORY_TIMER_EVERY ?? 10);

let services: BenchServices;
let workerProcess: ChildProcess | null = null;
let client: Client;
let closeClient: () => Promise<void>;
let sink: Server;
let sinkUrl: string;
let sinkDeliveries = 0;

beforeAll(async () => {
  if (!existsSync(WORKER_JS)) throw new Error(`${WORKER_JS} is missing: run \`node scripts/build.js\` (npm run bench does)`);
  services = await startBenchServices('memory');
  const connected = await connectClient(services.temporalAddress, 'default', payloadCodecFor(benchConfig(services)));
  client = connected.client;
  closeClient = () => connected.connection.close();
  sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => { sinkDeliveries += 1; res.end(); });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await stopWorkerProcess(workerProcess);
  await closeClient?.();
  sink?.closeAllConnections();
  await new Promise((resolve) => (sink ? sink.close(resolve) : resolve(undefined)));
  await services?.stop();
});

it(`holds ${N} open cases in a worker process within ${GOAL_MB} MB RSS`, async () => {
  const config = benchConfig(services, { TEMPORAL_TASK_QUEUE: `bench-memory-${Date.now()}` });
  // What `npm run build:workflows` produces, from the compiled dist/workflows, into this run's scratch directory.
  const bundlePath = await writeWorkflowBundle(services.dir);

  workerProcess = await startWorkerProcess({
    APP_ENV: 'production', LOG_LEVEL: 'info', TEMPORAL_ADDRESS: services.temporalAddress, DATABASE_URL: services.databaseUrl,
    TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE, PAYLOAD_ENCRYPTION_KEYS: PAYLOAD_KEYS, WEBHOOK_SECRET_KEYS: PAYLOAD_KEYS.replace(/^[^:]+/, 'bench-w'), WORKFLOW_BUNDLE_PATH: bundlePath,
    WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
    // Extra settings to try, e.g. BENCH_MEMORY_WORKER_ENV="WORKER_MAX_CACHED_WORKFLOWS=100 MALLOC_ARENA_MAX=2".
    ...Object.fromEntries((process.env.BENCH_MEMORY_WORKER_ENV ?? '').split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  }, process.env.BENCH_MEMORY_WORKER_LOG, (process.env.BENCH_MEMORY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)); // e.g. --trace-gc
  const pid = workerProcess.pid!;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const empty = memoryOf(pid);

  out(`\nWorker memory bench: ${machine()}`);
  out(`  worker process pid ${pid} (node ${productionWorkerFlags().join(' ')} dist/worker.js, prebuilt bundle${process.env.BENCH_MEMORY_WORKER_ENV ? `, ${process.env.BENCH_MEMORY_WORKER_ENV}` : ''}), ${N} cases, ${CONCURRENCY} starts in flight`);
  out(`  no case yet: RSS ${mb(empty.rssKb).toFixed(0)} MB (anonymous ${mb(empty.anonKb).toFixed(0)} MB + file-backed ${mb(empty.fileKb).toFixed(0)} MB)`);

  const pool = benchPool(services, 2);
  try {
    const sla = resolveServiceRequestSla(await loadSlaPolicies(pool), 'housing', 'normal');
    // One partner that takes orders (its webhook answers 200) and never acknowledges them.
    await insertPartner(pool, {
      name: '从不接单的物业', kind: 'property_company', categories: ['housing'], communities: [SILENT_PARTNER_COMMUNITY],
      capacity: 1_000_000, webhookUrl: `${sinkUrl}/webhook`, webhookSecret: 'bench-silent-partner-secret-0123456789',
    }, webhookSecretBoxFor(config));
    const escalating = rawStart(client, config.TEMPORAL_TASK_QUEUE, sla, benchIntake(COMMUNITY));
    const awaitingAck = rawStart(client, config.TEMPORAL_TASK_QUEUE, sla, benchIntake(SILENT_PARTNER_COMMUNITY));
    const samples: { at: number; rssKb: number; waiting: number }[] = [];
    const t0 = Date.now();
    // Waiting: escalated (intake, escalated written), or awaiting the partner with the delivery written (intake, dispatched, delivered).
    const waitingCount = async () => (await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cases WHERE status = 'escalated' OR (status = 'awaiting_ack' AND last_seq >= 3)`)).rows[0].n;
    const sampler = setInterval(() => {
      void waitingCount().then((waiting) => samples.push({ at: Date.now() - t0, rssKb: memoryOf(pid).rssKb, waiting })).catch(() => undefined);
    }, 2000);
    const workerCpu0 = processCpuSeconds(pid);
    const opened = await withCpu(services, async () => {
      await pooled(N, CONCURRENCY, (i) => (i % TIMER_EVERY === 0 ? awaitingAck() : escalating()));
      // Until every case has written its last event and waits.
      for (;;) {
        const n = await waitingCount();
        if (n >= N) return;
        if (Date.now() - t0 > 15 * 60_000) throw new Error(`only ${n} of ${N} cases waiting after 15 minutes`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    });
    clearInterval(sampler);
    const workerCpu = processCpuSeconds(pid) - workerCpu0;

    // Idle: nothing is running; sample for a few seconds.
    const idle: number[] = [];
    for (let t = 0; t < IDLE_SAMPLE_MS; t += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      idle.push(memoryOf(pid).rssKb);
    }
    const { hwmKb, anonKb, fileKb } = memoryOf(pid);
    if (process.env.BENCH_MEMORY_SMAPS) writeFileSync(process.env.BENCH_MEMORY_SMAPS, readFileSync(`/proc/${pid}/smaps`));
    const idleRss = idle[idle.length - 1];
    const curve = samples.filter((_, i) => i % Math.max(1, Math.ceil(samples.length / 8)) === 0)
      .map((s) => `${(s.at / 1000).toFixed(0)} s: ${s.waiting} cases ${mb(s.rssKb).toFixed(0)} MB`).join('; ');
    const { rows: [mix] } = await pool.query<{ escalated: number; awaiting: number }>(
      `SELECT count(*) FILTER (WHERE status = 'escalated')::int AS escalated, count(*) FILTER (WHERE status = 'awaiting_ack')::int AS awaiting FROM cases`);
    out(`  ${N} cases opened and waiting (${mix.escalated} escalated, awaiting a supervisor; ${mix.awaiting} awaiting the partner's acknowledgement, on reminder/ack timers; ${sinkDeliveries} webhooks delivered) in ${opened.seconds.toFixed(1)} s (${(N / opened.seconds).toFixed(0)} cases/s; CPU ms/case: worker ${((workerCpu / N) * 1000).toFixed(1)}, Temporal ${((opened.temporalCpu / N) * 1000).toFixed(1)}, Postgres ${((opened.postgresCpu / N) * 1000).toFixed(1)})`);
    out(`  RSS while opening: ${curve}`);
    out(`  ${N} open cases, idle: RSS ${mb(idleRss).toFixed(0)} MB (min ${mb(Math.min(...idle)).toFixed(0)}, max ${mb(Math.max(...idle)).toFixed(0)} over ${IDLE_SAMPLE_MS / 1000} s), peak ${mb(hwmKb).toFixed(0)} MB, anonymous ${mb(anonKb).toFixed(0)} MB + file-backed ${mb(fileKb).toFixed(0)} MB; goal <= ${GOAL_MB} MB (ratio ${(mb(idleRss) / GOAL_MB).toFixed(2)})`);
    goal(`worker RSS, ${N} open cases, idle`, mb(idleRss), GOAL_MB, { op: '<=', unit: 'MB', digits: 0, note: `peak ${mb(hwmKb).toFixed(0)} MB` });
    out(`  per open case above the empty worker: ${(((idleRss - empty.rssKb) * 1024) / N / 1024).toFixed(1)} KB`);
    out('');
    if (ENFORCE) expect(mb(idleRss)).toBeLessThanOrEqual(GOAL_MB);
  } finally {
    await pool.end();
  }
});
