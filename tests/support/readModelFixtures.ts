/**
 * Synthetic read-model rows for the supervisor-view tests: batches written through the
 * same statement the workflows' activity uses (recordCaseEventBatch), so every row is one
 * a workflow could have written, with timestamps chosen by the test.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { recordCaseEventBatch } from '../../src/db/readModel';
import type { CaseEvent, CaseSnapshot } from '../../src/domain/caseEvents';

/** An instant `seconds` after `base` (ISO). */
export const after = (base: string, seconds: number) => new Date(Date.parse(base) + seconds * 1000).toISOString();

export function snapshot(community: string, o: Partial<CaseSnapshot> = {}): CaseSnapshot {
  const id = o.id ?? randomUUID();
  const type = o.type ?? 'service_request';
  return {
    id, type, workflowId: `${type === 'registration' ? 'registration' : 'service-request'}:${id}`, status: 'dispatching',
    category: 'housing', urgency: 'normal', community, partnerId: null, overdue: false, reopenCount: 0, dispatchAttempts: 0,
    deadlines: {}, createdAt: new Date().toISOString(), acknowledgedAt: null, completedAt: null, closedAt: null, outcome: null,
    satisfaction: null, details: {}, ...o,
  };
}

export const event = (seq: number, type = 'intake', data: Record<string, unknown> = {}): CaseEvent =>
  ({ seq, at: new Date().toISOString(), type, actor: 'system', data });

/** Write a case as of its `lastSeq`-th event (events 1..lastSeq). */
export async function writeCase(pool: Pool, s: CaseSnapshot, lastSeq = 1): Promise<CaseSnapshot> {
  const events = Array.from({ length: lastSeq }, (_, i) => event(i + 1, i === 0 ? 'intake' : 'note'));
  await recordCaseEventBatch(pool, { events, snapshot: s });
  return s;
}
