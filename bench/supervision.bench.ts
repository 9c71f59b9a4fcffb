/**
 * Supervisor views at scale: p95 of the case list (with filters), one case's timeline,
 * open deadlines and the summary report, through the real HTTP API against 100k cases /
 * 1M events on the local Postgres server. Each figure is printed with its ratio to the
 * goal of issue 5 (list, timeline, timeouts <= 20 ms; summary <= 200 ms) and to two
 * baselines measured in the same run: `SELECT 1` over the pool, and `GET /healthz`.
 *
 *   npm run bench:supervision   BENCH_DATABASE_URL (another database), BENCH_RESEED=1 (seed again),
 *                               BENCH_ITERATIONS (200), BENCH_ONLY=<text> (scenarios whose name contains it),
 *                               BENCH_ENFORCE=0 (report without failing on a missed goal)
 *
 * The load average is printed with the figures: other processes on the machine show up in p95.
 */
import type { Server } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import type { Client as TemporalClient } from '@temporalio/client';
import { createApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { createPool, type Pool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { closeServer } from '../src/server';
import { BENCH_DATABASE_URL, ensureDatabase, prepareBenchData } from './database';
import { BENCH_PREFIX } from './seed';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 20;
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const out = (line: string) => process.stdout.write(`${line}\n`);

/** goalMs null: reported for scale, without a goal (a 500-row page is ten default pages). */
interface Scenario { name: string; goalMs: number | null; path: (i: number) => string; key?: () => string }

let pool: Pool;
let server: Server;
let baseUrl: string;
let scopedKey: string;

async function timeOnce(run: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function measure(run: (i: number) => Promise<unknown>): Promise<{ min: number; p50: number; p95: number }> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) times.push(await timeOnce(() => run(i)));
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
  return { min: times[0], p50: at(0.5), p95: at(0.95) };
}

async function get(path: string, key = ADMIN_KEY): Promise<unknown> {
  const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body.slice(0, 300)}`);
  return body;
}

const caseId = (i: number) => `${BENCH_PREFIX}${String(1 + ((i * 7919) % 100_000)).padStart(7, '0')}`;
const community = (i: number) => `社区-${String(1 + (i % 50)).padStart(2, '0')}`;
const enc = encodeURIComponent;
const yearAgo = new Date(Date.now() - 365 * 86_400_000).toISOString();
const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString();

const SCENARIOS: Scenario[] = [
  { name: 'list: no filter', goalMs: 20, path: () => '/v1/cases' },
  { name: 'list: community', goalMs: 20, path: (i) => `/v1/cases?community=${enc(community(i))}` },
  { name: 'list: status=escalated', goalMs: 20, path: () => '/v1/cases?status=escalated' },
  { name: 'list: partnerId', goalMs: 20, path: (i) => `/v1/cases?partnerId=bench-partner-${1 + (i % 200)}` },
  { name: 'list: category+status', goalMs: 20, path: () => '/v1/cases?category=medical&status=in_progress' },
  { name: 'list: overdue=true', goalMs: 20, path: () => '/v1/cases?overdue=true' },
  { name: 'list: type+from+to', goalMs: 20, path: () => `/v1/cases?type=registration&from=${enc(yearAgo)}&to=${enc(monthAgo)}` },
  { name: 'list: community+status+overdue', goalMs: 20, path: (i) => `/v1/cases?community=${enc(community(i))}&status=in_progress&overdue=true` },
  { name: 'list: limit=500', goalMs: null, path: () => '/v1/cases?limit=500' },
  { name: 'list: scoped key (2 communities)', goalMs: 20, path: () => '/v1/cases', key: () => scopedKey },
  { name: 'timeline', goalMs: 20, path: (i) => `/v1/cases/${caseId(i)}/history` },
  { name: 'timeouts: within=PT1H', goalMs: 20, path: () => '/v1/timeouts?within=PT1H' },
  { name: 'timeouts: within=P2D, limit=500', goalMs: null, path: () => '/v1/timeouts?within=P2D&limit=500' },
  { name: 'timeouts: community', goalMs: 20, path: (i) => `/v1/timeouts?within=PT1H&community=${enc(community(i))}` },
  { name: 'timeouts: scoped key', goalMs: 20, path: () => '/v1/timeouts?within=PT1H', key: () => scopedKey },
  { name: 'summary: by community, all time', goalMs: 200, path: () => '/v1/reports/summary?groupBy=community' },
  { name: 'summary: by partner, all time', goalMs: 200, path: () => '/v1/reports/summary?groupBy=partner' },
  { name: 'summary: by category, last 30 days', goalMs: 200, path: () => `/v1/reports/summary?groupBy=category&from=${enc(monthAgo)}` },
  { name: 'summary: scoped key, by category', goalMs: 200, path: () => '/v1/reports/summary?groupBy=category', key: () => scopedKey },
];

beforeAll(async () => {
  await ensureDatabase(BENCH_DATABASE_URL);
  pool = createPool(BENCH_DATABASE_URL, 10);
  await prepareBenchData(pool, out);
  const config = loadConfig({
    APP_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', DATABASE_URL: BENCH_DATABASE_URL, ADMIN_API_KEY: ADMIN_KEY,
    // One client asking thousands of times a minute is the point here, not abuse.
    RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0',
  });
  // The supervisor views read Postgres only; no Temporal call happens on these routes.
  const { app } = createApp({ config, pool, temporal: {} as TemporalClient, log: createLogger('silent', 'bench') });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const created = await fetch(`${baseUrl}/v1/api-keys`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'supervisor', name: 'bench supervisor', communities: [community(0), community(1)] }),
  });
  scopedKey = ((await created.json()) as { key: string }).key;
});

afterAll(async () => {
  if (server) await closeServer(server);
  await pool?.end();
});

it('answers the supervisor views within their goals at 100k cases / 1M events', async () => {
  const selectOne = await measure(() => pool.query('SELECT 1'));
  const pkLookup = await measure((i) => pool.query('SELECT * FROM cases WHERE id = $1', [caseId(i)]));
  const healthz = await measure(() => fetch(`${baseUrl}/healthz`).then((r) => r.text()));
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  out(`\nmachine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${load()}`);
  const { rows } = await pool.query<{ cases: number; events: number; deadlines: number }>(
    `SELECT (SELECT count(*) FROM cases)::int AS cases, (SELECT count(*) FROM case_events)::int AS events, (SELECT count(*) FROM case_deadlines)::int AS deadlines`);
  out(`Supervisor views, ${rows[0].cases} cases / ${rows[0].events} events / ${rows[0].deadlines} open deadlines, ${ITERATIONS} runs each (${new Date().toISOString()})`);
  out(`baselines p95: SELECT 1 ${selectOne.p95.toFixed(2)} ms, primary-key lookup ${pkLookup.p95.toFixed(2)} ms, GET /healthz ${healthz.p95.toFixed(2)} ms\n`);
  out(`${'scenario'.padEnd(38)} ${'min ms'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'goal'.padStart(6)} ${'p95/goal'.padStart(9)} ${'×SELECT 1'.padStart(10)} ${'×healthz'.padStart(9)}`);
  const misses: string[] = [];
  for (const s of SCENARIOS.filter((x) => x.name.includes(process.env.BENCH_ONLY ?? ''))) {
    const { min, p50, p95 } = await measure((i) => get(s.path(i), s.key?.()));
    const goal = s.goalMs === null ? '-' : String(s.goalMs);
    const ratio = s.goalMs === null ? '-' : (p95 / s.goalMs).toFixed(2);
    out(`${s.name.padEnd(38)} ${min.toFixed(2).padStart(8)} ${p50.toFixed(2).padStart(8)} ${p95.toFixed(2).padStart(8)} ${goal.padStart(6)} ${ratio.padStart(9)} ${(p95 / selectOne.p95).toFixed(1).padStart(10)} ${(p95 / healthz.p95).toFixed(1).padStart(9)}`);
    if (s.goalMs !== null && p95 > s.goalMs) misses.push(`${s.name}: p95 ${p95.toFixed(1)} ms > ${s.goalMs} ms`);
  }
  out(`load average after: ${load()}\n`);
  if (process.env.BENCH_ENFORCE !== '0') expect(misses).toEqual([]);
});
