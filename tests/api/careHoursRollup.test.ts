/**
 * The care-hours rollup (migration 086, docs/care-plans.md "How hours are kept"): after visits
 * written through the workflow's own statement (upsertCareVisits) are scheduled, checked in and
 * out (some late, durations not whole seconds), missed, cancelled, moved to another partner
 * and re-timed across a year boundary, repeated by a resync and overtaken by a late older
 * write, the report read from the rollup equals the one computed over the visit rows, for
 * every grouping, over all time and windows whose edges fall exactly on a due time, between
 * visits, across the new year and inside a gap; then a rebuild gives the same rollup rows.
 */
import { randomUUID } from 'node:crypto';
import { careHoursReport, CARE_HOURS_GROUPINGS, rebuildCareHoursRollup, upsertCareVisits } from '../../src/db/carePlans';
import type { CareVisitRecord } from '../../src/domain/carePlan';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

const DAY = 86_400_000;
/** Weekly visits from 2021-11-02, so they run across 2022-01-01 (two rollup years). */
const start = Date.parse('2021-11-02T09:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

it('answers the care-hours report from the rollup exactly as from the visits, after check-outs, cancellations, a partner change and resyncs', async () => {
  const tag = randomUUID().slice(0, 8);
  const community = `hours-${tag}`;
  const other = `${community}-b`;
  const [p1, p2, p3] = ['p1', 'p2', 'p3'].map((p) => `${p}-${tag}`);
  const plans = [
    { id: `plan-a-${tag}`, community, partner: p1 },
    { id: `plan-b-${tag}`, community, partner: p2 },
    { id: `plan-c-${tag}`, community: other, partner: p1 },
  ];
  const rev = new Map<string, number>();
  const latest = new Map<string, CareVisitRecord>();
  const write = async (records: CareVisitRecord[]) => {
    await upsertCareVisits(sys.pool, records);
    for (const r of records) if ((latest.get(`${r.caseId}/${r.visitId}`)?.rev ?? -1) < r.rev) latest.set(`${r.caseId}/${r.visitId}`, r);
  };
  const next = (v: Omit<CareVisitRecord, 'rev'> & { rev?: number }): CareVisitRecord => {
    const k = `${v.caseId}/${v.visitId}`;
    const r = (rev.get(k) ?? 0) + 1;
    rev.set(k, r);
    return { ...v, rev: r };
  };

  // 12 weekly visits per plan, all scheduled.
  for (const [pi, p] of plans.entries()) {
    await write(Array.from({ length: 12 }, (_, n) => next({
      caseId: p.id, community: p.community, visitId: `visit-${n + 1}`, visitNo: n + 1, partnerId: p.partner,
      dueAt: iso(start + n * 7 * DAY + pi * 3_600_000), status: 'scheduled', late: false, plannedServices: ['rehab_massage'],
    })));
  }
  const visit = (caseId: string, n: number) => latest.get(`${caseId}/visit-${n}`)!;

  // The first eight of each plan settle: check-in then check-out, some late, every fifth missed, plan b's 3rd cancelled.
  for (const [pi, p] of plans.entries()) {
    for (let n = 1; n <= 8; n++) {
      const v = visit(p.id, n);
      if ((n + pi) % 5 === 0) { await write([next({ ...v, status: 'missed', late: true })]); continue; }
      if (pi === 1 && n === 3) { await write([next({ ...v, status: 'cancelled', cancelReason: '住院' })]); continue; }
      const late = (n * (pi + 1)) % 3 === 0;
      const checkIn = Date.parse(v.dueAt) + (late ? 40 * 60_000 : -5 * 60_000);
      await write([next({ ...v, status: 'in_progress', late, checkInAt: iso(checkIn), carer: '护工', location: '家中' })]);
      const durationMs = 3_600_000 + n * 61_237 + pi * 997;
      await write([next({ ...visit(p.id, n), status: 'completed', checkOutAt: iso(checkIn + durationMs), durationMs, services: ['rehab_massage'] })]);
    }
  }
  // Plan a changes partner from visit 9: the scheduled visits move to p3 and are re-timed one day later (visit 9 stays in 2021, the rest move on).
  await write([9, 10, 11, 12].map((n) => next({ ...visit(plans[0].id, n), partnerId: p3, dueAt: iso(Date.parse(visit(plans[0].id, n).dueAt) + DAY) })));
  // The new partner serves visit 9; visit 10 is cancelled.
  const nine = visit(plans[0].id, 9);
  await write([next({ ...nine, status: 'in_progress', checkInAt: nine.dueAt, carer: '新护工' })]);
  await write([next({ ...visit(plans[0].id, 9), status: 'completed', checkOutAt: iso(Date.parse(nine.dueAt) + 5_400_123), durationMs: 5_400_123, services: ['rehab_massage'] })]);
  await write([next({ ...visit(plans[0].id, 10), status: 'cancelled', cancelReason: '计划变更' })]);
  // A resync repeats every row as it is (same revisions: nothing changes) and re-upserts plan b's with a new revision and a new note only.
  await upsertCareVisits(sys.pool, [...latest.values()]);
  await write([...latest.values()].filter((v) => v.caseId === plans[1].id).map((v) => next({ ...v, note: 'resync' })));
  // A late older write (an earlier revision of a completed visit) is ignored.
  const older = { ...visit(plans[2].id, 1), status: 'scheduled' as const, durationMs: null, checkOutAt: null, rev: 1 };
  await upsertCareVisits(sys.pool, [older]);

  // The data holds what the test is about: completed, missed and cancelled visits, and plan a under two partners.
  const { rows: shape } = await sys.pool.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM care_plan_visits WHERE community IN ($1, $2) GROUP BY status ORDER BY status`, [community, other]);
  const written: Record<string, number> = {};
  for (const v of latest.values()) written[v.status] = (written[v.status] ?? 0) + 1;
  expect(Object.fromEntries(shape.map((r) => [r.status, r.n]))).toEqual(written);
  expect(Object.keys(written).sort()).toEqual(['cancelled', 'completed', 'missed', 'scheduled']);
  const { rows: rollupKeys } = await sys.pool.query<{ partner_id: string; year: number }>(
    'SELECT partner_id, year FROM care_hours_rollup WHERE case_id = $1 ORDER BY partner_id, year', [plans[0].id]);
  // p1 kept visits 1-8 (2021); its 2022 row went with visits 10-12 to p3.
  expect(rollupKeys).toEqual([{ partner_id: p1, year: 2021 }, { partner_id: p3, year: 2021 }, { partner_id: p3, year: 2022 }]);

  const dueOf = (caseId: string, n: number) => visit(caseId, n).dueAt;
  const between = { from: iso(Date.parse(dueOf(plans[2].id, 4)) + 1), to: iso(Date.parse(dueOf(plans[0].id, 5)) - 1) }; // between two visits: none
  const windows: Array<{ from?: string; to?: string }> = [
    {},
    { from: dueOf(plans[0].id, 3) }, // from exactly on a due time: that visit counts
    { to: dueOf(plans[0].id, 3) }, // to exactly on a due time: that visit does not
    { from: dueOf(plans[1].id, 2), to: dueOf(plans[0].id, 9) },
    { from: '2021-12-20T00:00:00.000Z', to: '2022-01-10T00:00:00.000Z' }, // across the new year
    { from: '2022-01-01T00:00:00.000Z' },
    between,
    { from: '2030-01-01T00:00:00Z', to: '2031-01-01T00:00:00Z' }, // nothing due
  ];
  const reports = (source: 'rollup' | 'visits') => Promise.all(CARE_HOURS_GROUPINGS.flatMap((groupBy) => windows.flatMap((w) => [
    careHoursReport(sys.pool, { groupBy, ...w, scope: [community, other] }, source),
    careHoursReport(sys.pool, { groupBy, ...w, community, scope: null }, source),
  ])));
  const exact = await reports('visits');
  const rolled = await reports('rollup');
  expect(rolled).toEqual(exact);
  // Not a report of nothing: the all-time one by partner has every partner, plan a counted for both of its partners.
  expect(exact[0].overall).toMatchObject({ plans: 3 });
  expect(exact[0].overall.visitsCompleted).toBeGreaterThan(15);
  expect(exact[0].overall.visitsMissed).toBeGreaterThan(3);
  const byPartner = (await careHoursReport(sys.pool, { groupBy: 'partner', scope: [community, other] })).rows;
  expect(byPartner.map((r) => [r.key, r.plans])).toEqual([[p1, 2], [p2, 1], [p3, 1]]);
  // The window between two visits holds none, and counts no plan.
  expect(exact[windows.indexOf(between) * 2].overall).toEqual({ plans: 0, visitsCompleted: 0, visitsMissed: 0, onTimeShare: null, hours: 0 });

  // The API answers from the rollup, inside a supervisor's communities.
  const supervisor = await sys.createKey('supervisor', { communities: [other] });
  const api = await sys.call('GET', `/v1/reports/care-hours?groupBy=plan&from=${encodeURIComponent(windows[4].from!)}`, { key: supervisor });
  expect(api.status).toBe(200);
  expect({ rows: api.body.rows, overall: api.body.overall }).toEqual(
    JSON.parse(JSON.stringify(await careHoursReport(sys.pool, { groupBy: 'plan', from: windows[4].from, scope: [other] }, 'visits'))));
  expect(api.body.rows.map((r: any) => r.key)).toEqual([plans[2].id]);

  // Rebuilt from the visits, the rollup holds the same rows and answers the same.
  const rollupRows = async () => (await sys.pool.query(
    `SELECT * FROM care_hours_rollup WHERE community IN ($1, $2) ORDER BY case_id, partner_id, community, year`, [community, other])).rows;
  const before = await rollupRows();
  await rebuildCareHoursRollup(sys.pool);
  expect(await rollupRows()).toEqual(before);
  expect(await reports('rollup')).toEqual(exact);

  // A visit row removed by hand leaves the rollup too.
  await sys.pool.query('DELETE FROM care_plan_visits WHERE case_id = $1', [plans[1].id]);
  expect(await reports('rollup')).toEqual(await reports('visits'));
  expect((await sys.pool.query('SELECT 1 FROM care_hours_rollup WHERE case_id = $1', [plans[1].id])).rowCount).toBe(0);
}, 120_000);
