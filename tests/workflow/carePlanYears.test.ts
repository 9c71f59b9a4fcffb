/**
 * A care plan over two years of weekly visits, on the time-skipping test server: every visit
 * checked (status, lateness, partner, hours), the totals, nothing lost or repeated in the read
 * model across runs, and the history of each run bounded (continue-as-new).
 *
 * The story: 张奶奶's weekly visits, with three missed visits, three late ones, two cancelled
 * by staff, a month's pause in hospital, and a change of partner after a year and a quarter.
 */
import type { CareVisitRecord } from '../../src/domain/carePlan';
import { hoursOf, visitIdOf } from '../../src/domain/carePlan';
import { CARE_PLAN_EVENTS_PER_RUN } from '../../src/workflows/carePlan';
import { type CarePlanTestBed, DAY, HOUR, MINUTE, startCarePlanTestBed, WEEK } from './carePlanTestBed';

const ELDERCARE = 'eldercare-company';
const NEIGHBOURS = 'neighbourhood-carers';
const MISSED = new Set([7, 33, 71]);
const LATE = new Set([4, 50, 90]);
const CANCELLED = new Set([12, 60]);
const PAUSED_AT = 40;
const PARTNER_CHANGED_AT = 65;

let bed: CarePlanTestBed;
beforeAll(async () => { bed = await startCarePlanTestBed(); });
afterAll(async () => { await bed?.stop(); });

const iso = (ms: number) => new Date(ms).toISOString();

interface Expected { status: CareVisitRecord['status']; late: boolean; partnerId: string; durationMs?: number }

it('two years of weekly visits: every visit and the hour totals right, each run of bounded history', async () => {
  const start = await bed.now();
  const firstVisitAt = start + DAY;
  const endsAt = firstVisitAt + 730 * DAY;
  const c = await bed.open(() => ({
    resident: { name: '张奶奶', phone: '13900001111', community: '幸福社区', address: '5号楼1单元302', flags: ['elderly_alone'] },
    partnerId: ELDERCARE, services: ['rehab_massage', 'health_monitoring'],
    schedule: { firstVisitAt: iso(firstVisitAt), every: 'P7D', visitLength: 'PT2H', lateAfter: 'PT30M', missedAfter: 'PT4H' },
    endsAt: iso(endsAt),
  }));
  const w = c.world;
  const expected = new Map<string, Expected>();
  let partner = ELDERCARE;

  for (let n = 1; ; n++) {
    const id = visitIdOf(n);
    let v = await w.scheduledVisit(id);
    const due = Date.parse(v.dueAt);
    const followingDue = due + WEEK;
    const hasFollowing = followingDue < endsAt;
    if (n === PAUSED_AT) {
      const paused = await c.pause('住院一个月');
      expect(paused.status).toBe('paused');
      expected.set(id, { status: 'cancelled', late: false, partnerId: partner });
      await bed.advance(4 * WEEK);
      await c.resume();
      continue;
    }
    if (n === PARTNER_CHANGED_AT) {
      await c.change({ partnerId: NEIGHBOURS });
      partner = NEIGHBOURS;
      v = await w.waitForVisit(id, (x) => x.partnerId === NEIGHBOURS, 'moved to the new partner');
      await w.told('visit.scheduled', id, 2);
    }
    if (CANCELLED.has(n)) {
      await c.cancelVisit(id, '家属陪同就医');
      expected.set(id, { status: 'cancelled', late: false, partnerId: partner });
      await bed.advanceTo(due + MINUTE);
    } else if (MISSED.has(n)) {
      await bed.advanceTo(due + 4 * HOUR + MINUTE);
      await w.waitForVisit(id, (x) => x.status === 'missed', 'missed');
      await w.told('visit.missed', id);
      expected.set(id, { status: 'missed', late: true, partnerId: partner });
    } else {
      const lateBy = LATE.has(n) ? 45 * MINUTE : 5 * MINUTE;
      await bed.advanceTo(due + lateBy);
      if (LATE.has(n)) await w.told('visit.late', id);
      // the following visit was scheduled when this one came due: let that settle first (see scheduledVisit)
      if (hasFollowing) await w.scheduledVisit(visitIdOf(n + 1));
      await c.checkIn(id, partner);
      const durationMs = HOUR + (n % 3) * 15 * MINUTE;
      await bed.advance(durationMs);
      await c.checkOut(id, partner);
      expected.set(id, { status: 'completed', late: LATE.has(n), partnerId: partner, durationMs });
    }
    if (!hasFollowing) break;
  }

  await bed.advanceTo(endsAt + MINUTE);
  const final = await c.result();
  expect(final.status).toBe('ended');

  // every visit, as the read model holds it
  const visitIds = [...w.visits.keys()];
  expect(visitIds).toEqual([...expected.keys()]);
  expect(visitIds).toEqual(visitIds.map((_, i) => visitIdOf(i + 1)));
  for (const [id, e] of expected) {
    const got = w.visit(id)!;
    expect({ id, status: got.status, late: got.late, partnerId: got.partnerId }).toEqual({ id, status: e.status, late: e.late, partnerId: e.partnerId });
    if (e.durationMs !== undefined) {
      // workflow time also moves by the real milliseconds between the test's calls
      expect(got.durationMs! - e.durationMs).toBeGreaterThanOrEqual(0);
      expect(got.durationMs! - e.durationMs).toBeLessThan(2000);
    }
  }
  // each visit's writes arrived in revision order: none lost, none overtaken
  for (const id of visitIds) {
    const revs = w.visitWrites.filter((x) => x.visitId === id).map((x) => x.rev);
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
  }

  const count = (s: string) => [...expected.values()].filter((e) => e.status === s).length;
  const lateDone = [...expected.values()].filter((e) => e.status === 'completed' && e.late).length;
  expect(final.visits).toEqual({ completed: count('completed'), missed: MISSED.size, cancelled: CANCELLED.size + 1, late: lateDone });
  const expectedMs = [...expected.values()].reduce((sum, e) => sum + (e.durationMs ?? 0), 0);
  const recordedMs = [...w.visits.values()].reduce((sum, x) => sum + (x.durationMs ?? 0), 0);
  expect(final.hoursTotal).toBe(hoursOf(recordedMs));
  expect(final.hoursTotal).toBeCloseTo(hoursOf(expectedMs), 2);

  // the timeline is numbered 1..n across every run: the read model never saw a seq twice
  expect(w.timeline.map((e) => e.seq)).toEqual(w.timeline.map((_, i) => i + 1));
  expect(w.events('escalation_raised')).toHaveLength(MISSED.size);

  // bounded history: continue-as-new, each run near the bound
  const runs = await c.runs();
  const years = (endsAt - firstVisitAt) / (365 * DAY);
  console.log(`care plan, ${expected.size} weekly visits over ${years.toFixed(1)} years: ${runs.length} runs, ` +
    `${(runs.length / years).toFixed(1)} runs per year, events per run ${runs.map((r) => r.events).join(', ')}, ` +
    `${(expected.size / runs.length).toFixed(1)} visits per run`);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  for (const r of runs) expect(r.events).toBeLessThan(CARE_PLAN_EVENTS_PER_RUN + 400);
}, 600_000);
