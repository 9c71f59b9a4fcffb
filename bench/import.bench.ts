/**
 * Imports: a needs list of N rows (CSV, Chinese headers) through POST /v1/imports/service-requests
 * until GET /v1/imports/{id} says done, against the same N cases opened one by one through
 * POST /v1/service-requests (loopback HTTP from a worker thread) with the same concurrency
 * (IMPORT_CONCURRENCY = BENCH_IMPORT_CONCURRENCY), on the same services in the same run.
 * Both sides open cases only (no worker polls the task queue), as the intake bench does.
 *
 * Prints `import ratio: X` (goal >= 0.8) and the importer's memory: the API process's peak
 * RSS and heap above what it held before the upload (goal < 200 MB), sampled every 50 ms.
 *
 *   BENCH_IMPORT_N (10000), BENCH_IMPORT_CONCURRENCY (16), BENCH_IMPORT_ROUNDS (1), BENCH_ENFORCE=0 to only report
 */
import { randomUUID } from 'node:crypto';
import { goal } from './support/goals';
import { runHttpLoad } from './support/load';
import { type BenchServices, benchConfig, machine, out, settle, startBenchServices } from './support/services';
import { type ApiSystem, startApiSystem } from './support/system';

const N = Number(process.env.BENCH_IMPORT_N ?? 10_000);
const C = Number(process.env.BENCH_IMPORT_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_IMPORT_ROUNDS ?? 1);
const ENFORCE = process.env.BENCH_ENFORCE !== '0';
const COMMUNITY = '南湖社区';

let services: BenchServices;
let api: ApiSystem;
let staffKey: string;

beforeAll(async () => {
  services = await startBenchServices('import');
  api = await startApiSystem(services, benchConfig(services, { TEMPORAL_TASK_QUEUE: `bench-import-${randomUUID()}`, IMPORT_CONCURRENCY: String(C) }));
  staffKey = await api.createKey('staff');
});
afterAll(async () => {
  await api?.stop();
  await services?.stop();
});

/** A needs list as the communities keep it; every row a different resident, so none is a duplicate. */
function needsList(n: number, tag: string): string {
  const cats = ['衣', '食', '住', '行', '用', '医'];
  const lines = ['\ufeff姓名,电话,社区,小区,网格,地址,类别,描述,紧急程度,渠道'];
  for (let i = 0; i < n; i++) {
    lines.push(`居民${tag}${i},1390${String(i).padStart(7, '0')},${COMMUNITY},幸福里小区,网格-3,幸福里 ${1 + (i % 40)} 号楼 2 单元 ${100 + (i % 30)},${cats[i % cats.length]},楼道灯坏了，老人晚上下楼不方便（${tag}-${i}）,普通,入户走访`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

async function importOnce(n: number): Promise<{ seconds: number; rssMb: number; heapMb: number }> {
  const file = needsList(n, randomUUID().slice(0, 8));
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 50);
  const started = performance.now();
  const res = await fetch(`${api.url}/v1/imports/service-requests`, { method: 'POST', headers: { authorization: `Bearer ${staffKey}`, 'content-type': 'text/csv' }, body: file });
  const posted = (await res.json()) as { id: string; status: string };
  if (res.status !== 202) throw new Error(`import refused: ${res.status} ${JSON.stringify(posted)}`);
  for (;;) {
    const state = await api.call<{ status: string; created: number; error?: string }>('GET', `/v1/imports/${posted.id}`, staffKey);
    if (state.body.status === 'done') break;
    if (state.body.status === 'failed') throw new Error(`import failed: ${state.body.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { seconds, rssMb: (peakRss - base.rss) / 1048576, heapMb: (peakHeap - base.heapUsed) / 1048576 };
}

it('imports a needs list at >= 0.8 of the rate of opening the same cases one by one, under 200 MB', async () => {
  const body = JSON.stringify({
    resident: { name: '王秀英', phone: '138 0013 8000', community: COMMUNITY, compound: '幸福里小区', grid: '网格-3', address: '幸福里 1 号楼 2 单元 301' },
    category: 'housing', description: '楼道灯坏了，老人晚上下楼不方便，请物业尽快维修。', urgency: 'normal', channel: 'home_visit',
  });
  const post = (count: number) => runHttpLoad({
    url: `${api.url}/v1/service-requests`, body, count, concurrency: C, mode: 'closed',
    headers: { authorization: `Bearer ${staffKey}`, 'content-type': 'application/json' }, idempotencyPrefix: `bench-${randomUUID()}`,
  });
  out(`import bench on ${machine()}: N=${N} per side, concurrency ${C}, ${ROUNDS} round(s)`);
  await post(Math.min(500, N));
  await importOnce(Math.min(500, N));
  await settle(services);

  let postSeconds = 0;
  let importSeconds = 0;
  let rssMb = 0;
  let heapMb = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const one = await post(N);
    if (one.errors || Object.keys(one.statuses).some((s) => s !== '201')) throw new Error(`POST errors: ${JSON.stringify(one.statuses)} ${one.firstError}`);
    await settle(services);
    const imp = await importOnce(N);
    await settle(services);
    postSeconds += one.seconds;
    importSeconds += imp.seconds;
    rssMb = Math.max(rssMb, imp.rssMb);
    heapMb = Math.max(heapMb, imp.heapMb);
    out(`  round ${round + 1}: one by one ${(N / one.seconds).toFixed(0)}/s (p99 ${one.p99.toFixed(0)} ms), import ${(N / imp.seconds).toFixed(0)}/s, importer +${imp.rssMb.toFixed(0)} MB RSS, +${imp.heapMb.toFixed(0)} MB heap`);
  }
  const ratio = postSeconds / importSeconds;
  goal('import ratio', ratio, 0.8, { op: '>=', note: `import ${(N * ROUNDS / importSeconds).toFixed(0)}/s vs one by one ${(N * ROUNDS / postSeconds).toFixed(0)}/s` });
  goal('importer memory, peak RSS above the API before the upload', rssMb, 200, { op: '<', unit: 'MB', digits: 0, note: `+${heapMb.toFixed(0)} MB heap` });
  if (ENFORCE) {
    expect(ratio).toBeGreaterThanOrEqual(0.8);
    expect(rssMb).toBeLessThan(200);
  }
});
