/**
 * Imports: a needs list of N rows (CSV, Chinese headers) through POST /v1/imports/service-requests
 * until it is done and its receipts (GET /v1/imports/{id} with every tracking code) are read,
 * against the same N cases opened one by one through POST /v1/service-requests (loopback HTTP
 * from a worker thread) with the same concurrency (IMPORT_CONCURRENCY = BENCH_IMPORT_CONCURRENCY),
 * on the same services in the same run. Both sides open cases only (no worker polls the task
 * queue), as the intake bench does.
 *
 * Prints `import ratio: X` (goal >= 0.8), the CPU each side cost per case (this process, the
 * Temporal server, Postgres), and the importer's memory: this process's peak RSS and heap above
 * what it held before the upload (goal < 200 MB RSS), sampled every 50 ms, plus the heap still
 * live after a full collection halfway through. The same figures are printed for the one-by-one
 * phase, for comparison: the API runs in this process, so its growth under the same load is the
 * reference the importer's own memory is read against.
 *
 * The measurement itself stays out of the figures: the file is generated (as a Buffer) before the
 * baseline, which is taken after a full collection; the bench learns that the import is done
 * from its row in Postgres (one small query every 100 ms, on a connection of its own), and
 * watches progress through the API as a client would, with GET /v1/imports/{id} every
 * BENCH_IMPORT_GET_MS (1000: the import writes its progress every second). Polling the API
 * every 100 ms, as the bench first did, made this process serialise and parse the 10,000 case
 * ids of the answer ten times a second, on the API's own thread, and that counted as import
 * time and import memory.
 *
 * The one-by-one phase runs before and after the import and the import is compared with the mean
 * of the two (the Temporal dev server slows as it fills with workflows and an unpolled task
 * backlog, so whichever side runs second is at a disadvantage); both rates are printed.
 *
 *   BENCH_IMPORT_N (10000), BENCH_IMPORT_CONCURRENCY (16), BENCH_IMPORT_ROUNDS (1),
 *   BENCH_IMPORT_GET_MS (1000), BENCH_IMPORT_BRACKET=0 (one by one before the import only),
 *   BENCH_IMPORT_PROFILE=1 (a CPU profile of each measured phase, printed by package),
 *   BENCH_ENFORCE=0 to only report
 */
import { randomUUID } from 'node:crypto';
import { goal } from './support/goals';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runHttpLoad } from './support/load';
import { printProfile, profiled, profilePath } from './support/profile';
import { type BenchServices, benchConfig, benchPool, machine, out, settle, startBenchServices, withCpu } from './support/services';
import { type ApiSystem, startApiSystem } from './support/system';
import type { Pool } from '../src/db/pool';

const N = Number(process.env.BENCH_IMPORT_N ?? 10_000);
const C = Number(process.env.BENCH_IMPORT_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_IMPORT_ROUNDS ?? 1);
const GET_MS = Number(process.env.BENCH_IMPORT_GET_MS ?? 1000);
const BRACKET = process.env.BENCH_IMPORT_BRACKET !== '0';
const PROFILE = process.env.BENCH_IMPORT_PROFILE === '1';
const ENFORCE = process.env.BENCH_ENFORCE !== '0';
const COMMUNITY = '南湖社区';
const MB = 1048576;

let services: BenchServices;
let api: ApiSystem;
let watcher: Pool;
let staffKey: string;

/** A full collection on demand (the flag can be set at run time; the function comes from a fresh context). */
const fullGc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

beforeAll(async () => {
  services = await startBenchServices('import');
  api = await startApiSystem(services, benchConfig(services, { TEMPORAL_TASK_QUEUE: `bench-import-${randomUUID()}`, IMPORT_CONCURRENCY: String(C) }));
  watcher = benchPool(services, 1);
  staffKey = await api.createKey('staff');
});
afterAll(async () => {
  await watcher?.end();
  await api?.stop();
  await services?.stop();
});

/** A needs list as the communities keep it; every row a different resident, so none is a duplicate. */
function needsList(n: number, tag: string): Buffer {
  const cats = ['衣', '食', '住', '行', '用', '医'];
  const lines = ['\ufeff姓名,电话,社区,小区,网格,地址,类别,描述,紧急程度,渠道'];
  for (let i = 0; i < n; i++) {
    lines.push(`居民${tag}${i},1390${String(i).padStart(7, '0')},${COMMUNITY},幸福里小区,网格-3,幸福里 ${1 + (i % 40)} 号楼 2 单元 ${100 + (i % 30)},${cats[i % cats.length]},楼道灯坏了，老人晚上下楼不方便（${tag}-${i}）,普通,入户走访`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

interface Memory { rssMb: number; heapMb: number; liveMb: number | null }

/** Peak RSS and heap above the baseline (taken after a full collection), sampled every 50 ms; `live()` collects and reads the heap. */
function memoryWatch() {
  fullGc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  let liveHeap: number | null = null;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  return {
    live() {
      sample();
      fullGc();
      liveHeap = process.memoryUsage().heapUsed;
    },
    stop(): Memory {
      clearInterval(timer);
      sample();
      return { rssMb: (peakRss - base.rss) / MB, heapMb: (peakHeap - base.heapUsed) / MB, liveMb: liveHeap === null ? null : (liveHeap - base.heapUsed) / MB };
    },
  };
}

interface Phase {
  seconds: number; memory: Memory; cpuMsPerCase: { own: number; temporal: number; postgres: number };
  /** One by one: the requests' p99 (ms). Import: seconds until the 202 (the file read and every row checked). */
  p99?: number; acceptedAfter?: number;
}

const profileIf = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
  if (!PROFILE || name.startsWith('warm-up')) return run();
  const { result, summary } = await profiled(profilePath(services.dir, name), run);
  out(`  CPU profile of ${name}:`);
  printProfile(summary, out);
  return result;
};

async function importOnce(n: number, name = 'import'): Promise<Phase> {
  const file = needsList(n, randomUUID().slice(0, 8));
  let acceptedAfter = 0;
  const mem = memoryWatch();
  const { result, seconds, ownCpu, temporalCpu, postgresCpu } = await withCpu(services, () => profileIf(name, async () => {
    const t0 = performance.now();
    const res = await fetch(`${api.url}/v1/imports/service-requests`, { method: 'POST', headers: { authorization: `Bearer ${staffKey}`, 'content-type': 'text/csv' }, body: file });
    const posted = (await res.json()) as { id: string; status: string };
    acceptedAfter = (performance.now() - t0) / 1000;
    if (res.status !== 202) throw new Error(`import refused: ${res.status} ${JSON.stringify(posted)}`);
    let halfway = false;
    let lastGet = performance.now();
    for (;;) {
      const { rows: [state] } = await watcher.query<{ status: string; created: number; error: string | null }>('SELECT status, created, error FROM imports WHERE id = $1', [posted.id]);
      if (state.status === 'done') break;
      if (state.status === 'failed') throw new Error(`import failed: ${state.error}`);
      if (!halfway && state.created >= n / 2) {
        halfway = true;
        mem.live();
      }
      if (performance.now() - lastGet >= GET_MS) {
        lastGet = performance.now();
        const seen = await api.call<{ status: string; created: number }>('GET', `/v1/imports/${posted.id}`, staffKey);
        if (seen.status !== 200) throw new Error(`GET /v1/imports/${posted.id}: ${seen.status}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // The receipts: every case id with its tracking code.
    const receipts = await api.call<{ status: string; created: number; caseIds: string[]; trackingCodes?: Record<string, string> }>('GET', `/v1/imports/${posted.id}`, staffKey);
    return receipts.body;
  }));
  const memory = mem.stop();
  if (result.status !== 'done' || result.created !== n || result.caseIds.length !== n || Object.keys(result.trackingCodes ?? {}).length !== n) {
    throw new Error(`import ended ${result.status} with ${result.created} created, ${result.caseIds.length} ids, ${Object.keys(result.trackingCodes ?? {}).length} codes; expected ${n}`);
  }
  return { seconds, memory, acceptedAfter, cpuMsPerCase: { own: (ownCpu * 1000) / n, temporal: (temporalCpu * 1000) / n, postgres: (postgresCpu * 1000) / n } };
}

it('imports a needs list at >= 0.8 of the rate of opening the same cases one by one, under 200 MB', async () => {
  const body = JSON.stringify({
    resident: { name: '王秀英', phone: '138 0013 8000', community: COMMUNITY, compound: '幸福里小区', grid: '网格-3', address: '幸福里 1 号楼 2 单元 301' },
    category: 'housing', description: '楼道灯坏了，老人晚上下楼不方便，请物业尽快维修。', urgency: 'normal', channel: 'home_visit',
  });
  const load = (count: number) => runHttpLoad({
    url: `${api.url}/v1/service-requests`, body, count, concurrency: C, mode: 'closed',
    headers: { authorization: `Bearer ${staffKey}`, 'content-type': 'application/json' }, idempotencyPrefix: `bench-${randomUUID()}`,
  });
  let warmRate = 0;
  const post = async (count: number, name = 'one-by-one'): Promise<Phase> => {
    const mem = memoryWatch();
    // Halfway by the warm-up's rate: the same mid-phase collection as the import gets.
    const half = warmRate > 0 ? setTimeout(() => mem.live(), (count / warmRate / 2) * 1000) : null;
    const { result, seconds, ownCpu, temporalCpu, postgresCpu } = await withCpu(services, () => profileIf(name, () => load(count)));
    if (half) clearTimeout(half);
    const memory = mem.stop();
    if (result.errors || Object.keys(result.statuses).some((s) => s !== '201')) throw new Error(`POST errors: ${JSON.stringify(result.statuses)} ${result.firstError}`);
    // The load generator's own thread is this process too: its CPU is taken out.
    return { seconds, memory, p99: result.p99, cpuMsPerCase: { own: ((ownCpu - result.loadCpu) * 1000) / count, temporal: (temporalCpu * 1000) / count, postgres: (postgresCpu * 1000) / count } };
  };
  out(`import bench on ${machine()}: N=${N} per side, concurrency ${C}, ${ROUNDS} round(s), GET every ${GET_MS} ms while importing${BRACKET ? ', one by one again after the import' : ''}${PROFILE ? ', CPU profiled' : ''}`);
  const warm = await post(Math.min(500, N), 'warm-up');
  warmRate = Math.min(500, N) / warm.seconds;
  await importOnce(Math.min(500, N), 'warm-up import');
  await settle(services);

  const mem = (m: Memory) => `+${m.rssMb.toFixed(0)} MB RSS, +${m.heapMb.toFixed(0)} MB heap (live at half ${m.liveMb === null ? '?' : `${m.liveMb >= 0 ? '+' : ''}${m.liveMb.toFixed(0)}`} MB)`;
  const cpu = (p: Phase) => `CPU ms/case: this process ${p.cpuMsPerCase.own.toFixed(2)}, Temporal ${p.cpuMsPerCase.temporal.toFixed(2)}, Postgres ${p.cpuMsPerCase.postgres.toFixed(2)}`;
  let postSeconds = 0;
  let beforeSeconds = 0;
  let importSeconds = 0;
  let rssMb = 0;
  let heapMb = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const one = await post(N);
    await settle(services);
    const imp = await importOnce(N);
    await settle(services);
    const after = BRACKET ? await post(N, 'one-by-one after') : null;
    if (after) await settle(services);
    // With the bracket, the import is compared with the mean of the runs before and after it.
    postSeconds += after ? (one.seconds + after.seconds) / 2 : one.seconds;
    beforeSeconds += one.seconds;
    importSeconds += imp.seconds;
    rssMb = Math.max(rssMb, imp.memory.rssMb);
    heapMb = Math.max(heapMb, imp.memory.heapMb);
    out(`  round ${round + 1} (load avg ${machine().match(/load avg ([\d. ]+),/)?.[1]}):`);
    out(`    one by one ${(N / one.seconds).toFixed(0)}/s (p99 ${one.p99!.toFixed(0)} ms), ${cpu(one)}; API process ${mem(one.memory)}`);
    out(`    import     ${(N / imp.seconds).toFixed(0)}/s (202 after ${imp.acceptedAfter!.toFixed(1)} s), ${cpu(imp)}; importer ${mem(imp.memory)}`);
    if (after) out(`    one by one after the import ${(N / after.seconds).toFixed(0)}/s (p99 ${after.p99!.toFixed(0)} ms), ${cpu(after)}`);
  }
  const ratio = postSeconds / importSeconds;
  goal('import ratio', ratio, 0.8, { op: '>=', note: `import ${(N * ROUNDS / importSeconds).toFixed(0)}/s vs one by one ${(N * ROUNDS / postSeconds).toFixed(0)}/s${BRACKET ? ', the mean of the runs before and after' : ''}; against the run before alone ${(beforeSeconds / importSeconds).toFixed(2)}` });
  goal('importer memory, peak RSS above the API before the upload', rssMb, 200, { op: '<', unit: 'MB', digits: 0, note: `+${heapMb.toFixed(0)} MB heap` });
  if (ENFORCE) {
    expect(ratio).toBeGreaterThanOrEqual(0.8);
    expect(rssMb).toBeLessThan(200);
  }
});
