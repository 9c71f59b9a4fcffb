/**
 * Intake on a working-day calendar: `POST /v1/service-requests` for a category whose policy
 * counts on `cn-office` against one on `always`, same durations, same API, same run, rounds
 * alternating. What cn-office adds at intake is the calendar snapshot in the workflow input
 * (shared per calendar and year) and its bytes. Goal: the cn-office rate >= 0.95 of always.
 * No worker polls the task queue (as in intake.bench.ts): this measures opening cases.
 *
 *   BENCH_CALENDAR_INTAKE_N (600 per side), BENCH_CALENDAR_INTAKE_ROUNDS (6),
 *   BENCH_CALENDAR_INTAKE_CONCURRENCY (16), BENCH_ENFORCE=0 to only report
 */
import { randomUUID } from 'node:crypto';
import { goal } from './support/goals';
import { type LoadResult, runHttpLoad } from './support/load';
import { type BenchServices, benchConfig, machine, out, startBenchServices } from './support/services';
import { type ApiSystem, benchIntake, startApiSystem } from './support/system';

const N = Number(process.env.BENCH_CALENDAR_INTAKE_N ?? 600);
const ROUNDS = Number(process.env.BENCH_CALENDAR_INTAKE_ROUNDS ?? 6);
const C = Number(process.env.BENCH_CALENDAR_INTAKE_CONCURRENCY ?? 16);
const ENFORCE = process.env.BENCH_ENFORCE !== '0';

let services: BenchServices;
let api: ApiSystem;
let staffKey: string;

beforeAll(async () => {
  services = await startBenchServices('calendar-intake');
  api = await startApiSystem(services, benchConfig(services, { TEMPORAL_TASK_QUEUE: `bench-calendar-${randomUUID()}` }));
  staffKey = await api.createKey('staff');
  const supervisor = await api.createKey('supervisor');
  const durations = { ackTimeout: 'PT2H', reminderAfter: 'PT1H', fulfilmentTimeout: 'PT19H', followUpAfter: 'P2D', surveyWindow: 'P7D' };
  for (const [category, calendar] of [['food', 'cn-office'], ['clothing', 'always']] as const) {
    const res = await api.call('PUT', '/v1/sla-policies', supervisor, { caseType: 'service_request', category, ...durations, calendar });
    if (res.status !== 200) throw new Error(`policy ${category}: ${JSON.stringify(res.body)}`);
  }
});

afterAll(async () => {
  await api?.stop();
  await services?.stop();
});

it('opens cases on cn-office at >= 0.95 of the rate on always', async () => {
  const post = (category: 'food' | 'clothing', count: number) => runHttpLoad({
    url: `${api.url}/v1/service-requests`, body: JSON.stringify({ ...benchIntake('南湖社区'), category }), count, concurrency: C, mode: 'closed',
    headers: { authorization: `Bearer ${staffKey}`, 'content-type': 'application/json' }, idempotencyPrefix: `bench-${randomUUID()}`,
  });
  const check = (r: LoadResult) => { if (r.errors > 0) throw new Error(`${r.errors} failed, first: ${r.firstError}`); return r; };
  out(`\nCalendar intake bench: ${machine()}`);
  check(await post('food', 100));
  check(await post('clothing', 100));
  const share = Math.ceil(N / ROUNDS);
  const sides = { office: [] as LoadResult[], always: [] as LoadResult[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['office', 'always'] as const) : (['always', 'office'] as const);
    for (const side of order) sides[side].push(check(await post(side === 'office' ? 'food' : 'clothing', share)));
  }
  const rate = (rs: LoadResult[]) => rs.reduce((s, r) => s + r.count, 0) / rs.reduce((s, r) => s + r.seconds, 0);
  const [office, always] = [rate(sides.office), rate(sides.always)];
  const p99 = (rs: LoadResult[]) => Math.max(...rs.map((r) => r.p99));
  out(`  ${N} cases per side in ${ROUNDS} rounds, ${C} in flight`);
  out(`  cn-office policy: ${office.toFixed(0)}/s, p99 ${p99(sides.office).toFixed(0)} ms`);
  out(`  always policy:    ${always.toFixed(0)}/s, p99 ${p99(sides.always).toFixed(0)} ms`);
  goal('calendar intake ratio', office / always, 0.95, { op: '>=', note: 'cn-office / always' });
  if (ENFORCE) expect(office / always).toBeGreaterThanOrEqual(0.95);
});
