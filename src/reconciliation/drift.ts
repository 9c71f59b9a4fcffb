/**
 * Drift between what a case workflow has written and what the read model holds. Pure:
 * the reconciler loads both sides and asks here what differs.
 */
import type { StoredCase } from '../db/readModelCheck';
import type { CaseSnapshot } from '../domain/caseEvents';

export type { StoredCase };

/** Stable JSON: objects with sorted keys, so jsonb's key order does not count as drift. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const sameInstant = (a: string | null, b: string | null) => (a === null || b === null ? a === b : Date.parse(a) === Date.parse(b));

/** Open deadlines: the kinds with a due time (absent and null kinds are closed). */
export function openDeadlines(deadlines: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(deadlines).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * What is wrong with the stored case, given the workflow's snapshot and the seq of the
 * last event it has had written; empty when the read model is in line.
 */
export function driftReasons(snapshot: CaseSnapshot, writtenSeq: number, stored: StoredCase): string[] {
  const reasons: string[] = [];
  if (stored.eventCount < writtenSeq) reasons.push(`${writtenSeq - stored.eventCount} of ${writtenSeq} events missing`);
  const row = stored.row;
  if (!row) return [...reasons, 'case row missing'];
  if (row.lastSeq !== writtenSeq) reasons.push(`case row at seq ${row.lastSeq}, workflow wrote up to ${writtenSeq}`);

  const fields: [string, unknown, unknown][] = [
    ['status', row.status, snapshot.status], ['category', row.category, snapshot.category], ['urgency', row.urgency, snapshot.urgency],
    ['community', row.community, snapshot.community], ['partnerId', row.partnerId, snapshot.partnerId],
    ['overdue', row.overdue, snapshot.overdue], ['reopenCount', row.reopenCount, snapshot.reopenCount],
    ['dispatchAttempts', row.dispatchAttempts, snapshot.dispatchAttempts], ['outcome', row.outcome, snapshot.outcome],
    ['satisfaction', row.satisfaction, snapshot.satisfaction],
  ];
  for (const [name, stored, live] of fields) {
    if ((stored ?? null) !== (live ?? null)) reasons.push(`${name}: stored ${JSON.stringify(stored)}, workflow ${JSON.stringify(live)}`);
  }
  const instants: [string, string | null, string | null][] = [
    ['createdAt', row.createdAt, snapshot.createdAt], ['acknowledgedAt', row.acknowledgedAt, snapshot.acknowledgedAt],
    ['completedAt', row.completedAt, snapshot.completedAt], ['closedAt', row.closedAt, snapshot.closedAt],
  ];
  for (const [name, stored, live] of instants) {
    if (!sameInstant(stored, live ?? null)) reasons.push(`${name}: stored ${stored}, workflow ${live}`);
  }
  if (canonical(row.details) !== canonical(snapshot.details)) reasons.push('details differ');
  const open = openDeadlines(snapshot.deadlines);
  if (canonical(openDeadlines(row.deadlines)) !== canonical(open)) reasons.push('deadlines column differs');
  const kinds = new Set([...Object.keys(open), ...Object.keys(stored.deadlineRows)]);
  for (const kind of kinds) {
    if (!sameInstant(stored.deadlineRows[kind] ?? null, open[kind] ?? null)) {
      reasons.push(`deadline ${kind}: stored ${stored.deadlineRows[kind] ?? 'none'}, workflow ${open[kind] ?? 'none'}`);
    }
  }
  return reasons;
}
