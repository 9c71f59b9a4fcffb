/**
 * The summary report's clock figures per group (docs/sla-clocks.md, "Reports"): escalations by
 * the level reached, by status and time to acknowledge, and holds, for each partner (or
 * community, category) beside the whole window's; and the share inside the SLA, which counts a
 * case whose hold moved its fulfilment deadline as inside when it met the moved deadline
 * (the workflow's verdict, tests/workflow/slaClocks.test.ts, is `fulfilmentBreached: false`).
 *
 * Rows are written through the workflows' own statements (recordCaseEventBatch, recordEscalations).
 */
import { randomUUID } from 'node:crypto';
import { recordEscalations } from '../../src/db/escalations';
import { recordCaseEventBatch } from '../../src/db/readModel';
import type { CaseSnapshot } from '../../src/domain/caseEvents';
import type { EscalationRecord } from '../../src/domain/escalation';
import { after, event, snapshot } from '../support/readModelFixtures';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

const t0 = '2025-06-02T01:00:00.000Z';

function escalation(number: number, level: number, status: EscalationRecord['status'], ackAfterSeconds?: number): EscalationRecord {
  const since = after(t0, 3600);
  return {
    number, reason: 'fulfilment_overdue', level, status, since, levelSince: since, nextLevelAt: null,
    ...(ackAfterSeconds !== undefined ? { acknowledgedBy: 'supervisor:secretary', acknowledgedAt: after(since, ackAfterSeconds) } : {}),
    ...(status === 'resolved' ? { resolvedAt: after(since, 7200) } : {}),
  };
}

/** A completed service request of `partnerId`: its holds, escalations and the workflow's fulfilment verdict. */
async function write(community: string, partnerId: string, o: {
  held?: { count: number; workingMs: number }; escalations?: EscalationRecord[]; breached: boolean; completeAfterHours: number;
}): Promise<CaseSnapshot> {
  const s = snapshot(community, {
    id: randomUUID(), partnerId, status: 'awaiting_follow_up', createdAt: t0, acknowledgedAt: after(t0, 60),
    completedAt: after(t0, o.completeAfterHours * 3600),
    details: {
      fulfilmentBreached: o.breached, held: o.held ?? { count: 0, workingMs: 0 }, escalations: o.escalations ?? [], onHold: null,
    },
  });
  const batch = { events: [event(1, 'intake'), event(2, o.escalations?.length ? 'escalation_raised' : 'completed')], snapshot: s };
  await recordCaseEventBatch(sys.pool, batch);
  await recordEscalations(sys.pool, batch);
  return s;
}

it('gives each group its escalations, time to acknowledge and holds, and the share inside the SLA counts held time out', async () => {
  const community = `clock-groups-${randomUUID().slice(0, 8)}`;
  const [a, b] = [`p-a-${community}`, `p-b-${community}`];
  // Partner A: a case held 3 working hours (fulfilment PT2H, completed 4.5 h after intake: inside its moved deadline),
  // escalated twice (one acknowledged after 10 minutes at level 2, one open at level 3); a case held twice, 30 minutes.
  await write(community, a, {
    held: { count: 1, workingMs: 3 * 3600_000 }, breached: false, completeAfterHours: 4.5,
    escalations: [escalation(1, 2, 'acknowledged', 600), escalation(2, 3, 'open')],
  });
  await write(community, a, { held: { count: 2, workingMs: 1800_000 }, breached: false, completeAfterHours: 1 });
  // Partner B: past its deadline with no hold, escalated at level 1, resolved by the completion.
  await write(community, b, { breached: true, completeAfterHours: 30, escalations: [escalation(1, 1, 'resolved')] });

  const window = `from=${encodeURIComponent(after(t0, -60))}&to=${encodeURIComponent(after(t0, 60))}`;
  const res = await sys.call('GET', `/v1/reports/summary?groupBy=partner&community=${encodeURIComponent(community)}&${window}`);
  expect(res.status).toBe(200);
  const group = (key: string) => res.body.groups.find((g: { key: string }) => g.key === key);
  expect(group(a)).toMatchObject({
    total: 2, insideSlaShare: 1,
    escalations: {
      total: 2, byLevel: { 1: 0, 2: 1, 3: 1 }, byStatus: { open: 1, acknowledged: 1, resolved: 0 },
      timeToAcknowledge: { cases: 1, median: 600, p90: 600 },
    },
    holds: { cases: 2, holds: 3, workingSeconds: 3 * 3600 + 1800 },
  });
  expect(group(b)).toMatchObject({
    total: 1, insideSlaShare: 0,
    escalations: { total: 1, byLevel: { 1: 1, 2: 0, 3: 0 }, byStatus: { open: 0, acknowledged: 0, resolved: 1 }, timeToAcknowledge: { cases: 0, median: null } },
    holds: { cases: 0, holds: 0, workingSeconds: 0 },
  });
  // The whole window: the sum of the groups.
  expect(res.body.overall.insideSlaShare).toBeCloseTo(2 / 3, 4);
  expect(res.body.escalations).toMatchObject({ total: 3, byLevel: { 1: 1, 2: 1, 3: 1 }, byStatus: { open: 1, acknowledged: 1, resolved: 1 } });
  expect(res.body.holds).toEqual({ cases: 2, holds: 3, workingSeconds: 3 * 3600 + 1800 });

  // All time (answered from the rollups, migration 070): the same share inside the SLA.
  const allTime = await sys.call('GET', `/v1/reports/summary?groupBy=partner&community=${encodeURIComponent(community)}`);
  expect(allTime.body.groups.map((g: { key: string; insideSlaShare: number }) => [g.key, g.insideSlaShare]).sort())
    .toEqual([[a, 1], [b, 0]]);
  expect(allTime.body.groups.find((g: { key: string }) => g.key === a).escalations.total).toBe(2);

  // Grouped by community: one group, with the window's figures.
  const byCommunity = await sys.call('GET', `/v1/reports/summary?groupBy=community&community=${encodeURIComponent(community)}&${window}`);
  expect(byCommunity.body.groups).toHaveLength(1);
  expect(byCommunity.body.groups[0]).toMatchObject({ key: community, escalations: res.body.escalations, holds: res.body.holds });
});
