/**
 * Care plans at scale: p95 of one plan's visit list, a partner's roster and the care-hours
 * report, through the real HTTP API against 10,000 plans with 50 visits each (500,000 visit
 * rows) on the local Postgres server, each with its ratio to the supervisor-view goals
 * (lists <= 20 ms, reports <= 200 ms) and to `GET /healthz` measured in the same run.
 *
 *   npx jest -c bench/jest.config.js --runInBand bench/carePlans.bench.ts
 *     BENCH_CARE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/gj_careplans_bench),
 *     BENCH_ITERATIONS (200), BENCH_RESEED=1, BENCH_ENFORCE=0 (report without failing)
 *
 * The care-hours report reads the rollup of migration 086 (docs/care-plans.md "How hours are
 * kept"); each report is also computed over the visit rows (BENCH_DIRECT_ROUNDS, 3) to show
 * that the answer is identical and what the direct computation costs in the same run. Last,
 * the cost of one visit upsert with and without the rollup trigger.
 *
 * Worker memory with 2,000 plans against 2,000 open service requests, and events per run:
 * bench/carePlanMemory.bench.ts.
 */
import type { Server } from 'node:http';
import { loadavg } from 'node:os';
import type { Client as TemporalClient } from '@temporalio/client';
import { createApp } from '../src/api/app';
import { hashKey } from '../src/api/auth';
import { loadConfig } from '../src/config';
import { careHoursReport, rebuildCareHoursRollup, upsertCareVisits } from '../src/db/carePlans';
import type { CareVisitRecord } from '../src/domain/carePlan';
import { migrate } from '../src/db/migrate';
import { createPool, type Pool } from '../src/db/pool';
import { createLogger } from '../src/logger';
import { closeServer } from '../src/server';
import { ensureDatabase } from './database';
import { goal } from './support/goals';

const URL_ = process.env.BENCH_CARE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/gj_careplans_bench';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
/** Reports are slower: fewer rounds keep the run bounded. */
const REPORT_ITERATIONS = Number(process.env.BENCH_REPORT_ITERATIONS ?? 20);
/** Rounds of each report computed over the visit rows, for comparison. */
const DIRECT_ROUNDS = Number(process.env.BENCH_DIRECT_ROUNDS ?? 3);
const PLANS = 10_000;
const VISITS = 50;
const COMMUNITIES = 20;
const PARTNERS = 50;
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const SUPERVISOR_KEY = 'bench-care-supervisor-key-0123456789';
const PARTNER_KEY = 'bench-care-partner-key-0123456789';
const out = (line: string) => process.stdout.write(`${line}\n`);

let pool: Pool;
let server: Server;
let baseUrl: string;

const planId = (i: number) => `careplan-bench-${String(1 + ((i * 7919) % PLANS)).padStart(5, '0')}`;

async function bulkLoad(): Promise<void> {
  await pool.query(`DELETE FROM care_plan_visits WHERE case_id LIKE 'careplan-bench-%'`);
  await pool.query(`DELETE FROM cases WHERE id LIKE 'careplan-bench-%'`);
  await pool.query(`DELETE FROM partners WHERE id LIKE 'care-bench-partner-%'`);
  await pool.query(`INSERT INTO partners (id, name, kind, categories, communities, capacity, webhook_url, webhook_secret)
    SELECT 'care-bench-partner-' || p, '养老服务机构 ' || p, 'social_org', '{medical}', '{}', 50, 'https://partner.example/hook', 'bench-secret-0123456789'
    FROM generate_series(1, ${PARTNERS}) p`);
  await pool.query(`INSERT INTO cases (id, type, workflow_id, status, community, partner_id, deadlines, details, created_at, last_seq)
    SELECT 'careplan-bench-' || lpad(i::text, 5, '0'), 'care_plan', 'care-plan:careplan-bench-' || lpad(i::text, 5, '0'), 'active',
      'bench-community-' || (i % ${COMMUNITIES}), 'care-bench-partner-' || (1 + i % ${PARTNERS}), '{}',
      jsonb_build_object('resident', jsonb_build_object('name', '居民' || i, 'community', 'bench-community-' || (i % ${COMMUNITIES})), 'partnerId', 'care-bench-partner-' || (1 + i % ${PARTNERS}),
        'status', 'active', 'openVisits', '[]'::jsonb),
      now() - interval '1 year', 10
    FROM generate_series(1, ${PLANS}) i`);
  await pool.query(`INSERT INTO care_plan_visits (case_id, visit_id, visit_no, partner_id, community, due_at, status, late, planned_services,
      check_in_at, check_out_at, carer, duration_ms, rev)
    SELECT c.id, 'visit-' || n, n, c.partner_id, c.community, now() - interval '315 days' + n * interval '7 days' + (hashtext(c.id) % 3600) * interval '1 second',
      s.status, s.r < 0.1, '{rehab_massage,health_monitoring}',
      CASE WHEN s.status = 'completed' THEN now() - interval '315 days' + n * interval '7 days' END,
      CASE WHEN s.status = 'completed' THEN now() - interval '315 days' + n * interval '7 days' + interval '1 hour' END,
      CASE WHEN s.status = 'completed' THEN '护工' END,
      CASE WHEN s.status = 'completed' THEN 3600000 + (n % 4) * 900000 END, n
    FROM cases c CROSS JOIN generate_series(1, ${VISITS}) n
    CROSS JOIN LATERAL (SELECT r, CASE WHEN n > 45 THEN 'scheduled' WHEN r < 0.8 THEN 'completed' WHEN r < 0.88 THEN 'missed' WHEN r < 0.93 THEN 'cancelled' ELSE 'completed' END AS status
      FROM (SELECT abs(hashtext(c.id || n)) / 2147483647.0 AS r) x) s
    WHERE c.id LIKE 'careplan-bench-%'`);
}

/** 10k plans (cases rows), 500k visits: one weekly visit each, the last year, 80 % completed, 8 % missed, 5 % cancelled, the rest scheduled. */
async function seed(): Promise<void> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM care_plan_visits WHERE case_id LIKE 'careplan-bench-%'`);
  if (rows[0].n === PLANS * VISITS && process.env.BENCH_RESEED !== '1') {
    out(`reusing ${rows[0].n} seeded visits`);
    return;
  }
  const t0 = Date.now();
  // As bench/seed.ts does for the report rollups: the bulk load runs with the rollup trigger
  // off (one refresh per visit row would read the plan's year of visits 500,000 times), and
  // the rollup is then rebuilt in one statement, as `npm run reconcile -- --rebuild-rollups` does.
  await pool.query('ALTER TABLE care_plan_visits DISABLE TRIGGER care_plan_visits_hours_rollup');
  try {
    await bulkLoad();
  } finally {
    await pool.query('ALTER TABLE care_plan_visits ENABLE TRIGGER care_plan_visits_hours_rollup');
  }
  const t1 = Date.now();
  const { rows: rollup } = await rebuildCareHoursRollup(pool);
  await pool.query('ANALYZE care_plan_visits; ANALYZE cases; ANALYZE care_hours_rollup');
  out(`seeded ${PLANS} plans, ${PLANS * VISITS} visits in ${((t1 - t0) / 1000).toFixed(1)} s; care-hours rollup rebuilt (${rollup} rows) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
}

function quantiles(times: number[]): { p50: number; p95: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p95: at(0.95) };
}

async function p95(path: (i: number) => string, key = ADMIN_KEY, iterations = ITERATIONS): Promise<{ p50: number; p95: number }> {
  const get = async (i: number) => {
    const res = await fetch(`${baseUrl}${path(i)}`, { headers: { authorization: `Bearer ${key}` } });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path(i)} answered ${res.status}: ${body.slice(0, 300)}`);
  };
  for (let i = 0; i < Math.min(20, iterations); i++) await get(i);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await get(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return quantiles(times);
}

beforeAll(async () => {
  await ensureDatabase(URL_);
  pool = createPool(URL_, 10);
  await migrate(pool);
  await seed();
  await pool.query(`INSERT INTO api_keys (id, name, role, partner_id, communities, key_hash) VALUES
      ('care-bench-supervisor', 'bench supervisor', 'supervisor', NULL, '{bench-community-3}', $1),
      ('care-bench-partner', 'bench partner', 'partner', 'care-bench-partner-7', NULL, $2)
    ON CONFLICT (id) DO NOTHING`, [hashKey(SUPERVISOR_KEY), hashKey(PARTNER_KEY)]);
  const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: URL_, ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', PAYLOAD_ENCRYPTION_KEYS: `bench:${Buffer.alloc(32, 7).toString('base64')}` });
  // No Temporal: every route measured here answers from the read model alone.
  const { app } = createApp({ config, pool, temporal: {} as TemporalClient, log: createLogger('silent', 'bench') });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const addr = server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${addr.port}`;
}, 900_000);

afterAll(async () => {
  if (server) await closeServer(server);
  await pool?.end();
});

/** One visit upsert (the activity's statement) on a plan with five years of weekly visits, with and without the rollup trigger. */
async function writeCost(rounds: number): Promise<{ with: { p50: number; p95: number }; without: { p50: number; p95: number } }> {
  const caseId = 'careplan-bench-write';
  await pool.query('DELETE FROM care_plan_visits WHERE case_id = $1', [caseId]);
  const first = Date.now() - 200 * 7 * 86_400_000;
  const visits: CareVisitRecord[] = Array.from({ length: 260 }, (_, n) => ({
    caseId, community: 'bench-write-community', visitId: `visit-${n + 1}`, visitNo: n + 1, partnerId: 'care-bench-partner-1',
    dueAt: new Date(first + n * 7 * 86_400_000).toISOString(), status: 'scheduled', late: false, plannedServices: ['rehab_massage'], rev: 1,
  }));
  await upsertCareVisits(pool, visits);
  let rev = 1;
  const time = async () => {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const v = visits[(i * 37) % visits.length];
      rev += 1;
      const done = rev % 2 === 0;
      const t0 = process.hrtime.bigint();
      await upsertCareVisits(pool, [{ ...v, status: done ? 'completed' : 'scheduled', durationMs: done ? 3_600_000 + i : null, rev }]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return quantiles(times);
  };
  const withTrigger = await time();
  await pool.query('ALTER TABLE care_plan_visits DISABLE TRIGGER care_plan_visits_hours_rollup');
  let without: { p50: number; p95: number };
  try {
    without = await time();
  } finally {
    await pool.query('ALTER TABLE care_plan_visits ENABLE TRIGGER care_plan_visits_hours_rollup');
  }
  await pool.query('DELETE FROM care_plan_visits WHERE case_id = $1', [caseId]);
  await pool.query('DELETE FROM care_hours_rollup WHERE case_id = $1', [caseId]);
  return { with: withTrigger, without };
}

it('visit lists and the care-hours report within the supervisor-view goals', async () => {
  const healthz = await p95(() => '/healthz');
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const quarter = { from: new Date(Date.now() - 120 * 86_400_000).toISOString(), to: new Date(Date.now() - 30 * 86_400_000).toISOString() };
  /** `enforced: false`: printed against the goal, not failed on (its cost is its response's size). */
  type Scenario = { name: string; goal: number; path: (i: number) => string; key?: string; report?: Parameters<typeof careHoursReport>[1]; enforced?: false };
  const scenarios: Scenario[] = [
    { name: 'GET /v1/care-plans/{id}/visits', goal: 20, path: (i) => `/v1/care-plans/${planId(i)}/visits` },
    { name: 'GET /v1/care-plans/{id}/visits?status=missed', goal: 20, path: (i) => `/v1/care-plans/${planId(i)}/visits?status=missed` },
    { name: 'GET /v1/partners/me/visits (roster, 37 days)', goal: 20, path: () => '/v1/partners/me/visits', key: PARTNER_KEY },
    { name: 'care-hours by partner, all time (500k visits)', goal: 200, path: () => '/v1/reports/care-hours?groupBy=partner', report: { groupBy: 'partner', scope: null } },
    { name: 'care-hours by community, last month', goal: 200, path: () => `/v1/reports/care-hours?groupBy=community&from=${monthAgo}`, report: { groupBy: 'community', from: monthAgo, scope: null } },
    { name: 'care-hours by partner, [from, to) of 90 days', goal: 200, path: () => `/v1/reports/care-hours?groupBy=partner&from=${quarter.from}&to=${quarter.to}`, report: { groupBy: 'partner', ...quarter, scope: null } },
    { name: 'care-hours by plan, one community (scoped key)', goal: 200, path: () => '/v1/reports/care-hours?groupBy=plan', key: SUPERVISOR_KEY, report: { groupBy: 'plan', scope: ['bench-community-3'] } },
    { name: 'care-hours by plan, all communities, all time (a row per plan: 10k rows, not enforced)', goal: 200, path: () => '/v1/reports/care-hours?groupBy=plan', report: { groupBy: 'plan', scope: null }, enforced: false },
  ];
  out(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; GET /healthz p95 ${healthz.p95.toFixed(2)} ms`);
  const missed: string[] = [];
  const differ: string[] = [];
  for (const s of scenarios) {
    const r = await p95(s.path, s.key, s.goal >= 200 ? REPORT_ITERATIONS : ITERATIONS);
    goal(`care plans ${s.name} p95`, r.p95, s.goal, { op: '<=', unit: 'ms', note: `p50 ${r.p50.toFixed(2)} ms, ${(r.p95 / healthz.p95).toFixed(1)}× /healthz${s.enforced === false ? ', not enforced' : ''}` });
    if (r.p95 > s.goal && s.enforced !== false) missed.push(s.name);
    if (s.report) {
      // The same report over every visit row (what the API did before migration 086): the same answer, and its cost.
      const direct: number[] = [];
      let exact: Awaited<ReturnType<typeof careHoursReport>> | null = null;
      for (let i = 0; i < DIRECT_ROUNDS; i++) {
        const t0 = process.hrtime.bigint();
        exact = await careHoursReport(pool, s.report, 'visits');
        direct.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const rolled = await careHoursReport(pool, s.report, 'rollup');
      const same = JSON.stringify(rolled) === JSON.stringify(exact);
      if (!same) differ.push(s.name);
      out(`  over the visit rows instead (no HTTP): p50 ${quantiles(direct).p50.toFixed(0)} ms of ${DIRECT_ROUNDS}; rollup answer ${same ? 'identical' : 'DIFFERENT'} (${rolled.rows.length} rows, overall ${rolled.overall.plans} plans, ${rolled.overall.visitsCompleted} completed, ${rolled.overall.hours} h)`);
    }
  }
  const writes = await writeCost(Math.min(ITERATIONS, 200));
  out(`one visit upsert on a plan of 260 visits: p50 ${writes.with.p50.toFixed(2)} ms, p95 ${writes.with.p95.toFixed(2)} ms with the rollup trigger; p50 ${writes.without.p50.toFixed(2)} ms, p95 ${writes.without.p95.toFixed(2)} ms without`);
  expect(differ).toEqual([]);
  if (process.env.BENCH_ENFORCE !== '0') expect(missed).toEqual([]);
});
