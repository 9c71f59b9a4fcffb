/**
 * Reconciliation of the read model with Temporal, for use after an outage or a restore
 * of Postgres from a backup (`npm run reconcile`, docs/supervision.md).
 *
 * - Running case workflows are the truth. Each one is queried (`getReadModelState`) and
 *   compared with its `cases` row, events and open deadlines; on drift it is signalled
 *   (`resyncReadModel`) and re-sends its whole timeline and snapshot through its own
 *   read-model activity, so writes stay ordered by the workflow. The reconciler then
 *   waits until the row matches.
 * - Closed workflows (only with `closedWithinMs`) cannot act any more; their history
 *   holds every batch they wrote, so the reconciler rewrites the case from it with the
 *   same idempotent statement.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Pool } from 'pg';
import { isPostgresDataError } from '../db/dataErrors';
import { loadStoredCase, rewriteCase } from '../db/readModelCheck';
import { unresolvedRejections } from '../db/readModelRejections';
import { CASE_TYPES } from '../domain/vocabulary';
import { getReadModelState, type ReadModelState, resyncReadModel } from '../workflows/messages';
import { driftReasons } from './drift';
import { timelineFromHistory } from './historyTimeline';

export interface ReconcileOptions {
  client: Client;
  pool: Pool;
  /** Only the cases of one community / one task queue (visibility filters). */
  community?: string;
  taskQueue?: string;
  /** Also check cases whose workflow closed this recently, rebuilding them from history. */
  closedWithinMs?: number;
  /** Report drift without repairing it. */
  dryRun?: boolean;
  concurrency?: number;
  /** How long running workflows get to re-send their timelines before a case counts as unrepaired. */
  verifyTimeoutMs?: number;
  log?: (line: string) => void;
}

export type CaseOutcome = 'in_sync' | 'drifted' | 'repaired' | 'unrepaired' | 'busy' | 'unreachable' | 'rejected';

export interface CaseCheck {
  caseId: string;
  workflowId: string;
  running: boolean;
  outcome: CaseOutcome;
  reasons: string[];
}

export interface ReconcileSummary {
  checked: number;
  inSync: number;
  /** Found out of line (repaired or not). */
  drifted: number;
  repaired: number;
  unrepaired: number;
  /** A write was in flight (the workflow's activity retries will land it); not judged. */
  busy: number;
  /** The workflow did not answer the query (no worker, or code without the query). */
  unreachable: number;
  /**
   * Postgres refused some of the case's events for their data (SQLSTATE class 22): no retry
   * or resync can store them; the data must be fixed by hand. Counted once per case.
   */
  rejected: number;
  cases: CaseCheck[];
}

const QUERY_DEADLINE_MS = 5000;
const VERIFY_INTERVAL_MS = 250;

export async function reconcileReadModel(o: ReconcileOptions): Promise<ReconcileSummary> {
  const log = o.log ?? (() => undefined);
  const concurrency = o.concurrency ?? 8;
  const running = await listExecutions(o.client, visibilityQuery(o, null));
  log(`checking ${running.length} running case workflow(s)`);
  const checks = await mapLimit(running, concurrency, (wf) => checkRunning(o, wf));

  const drifted = checks.filter((c) => c.outcome === 'drifted');
  if (!o.dryRun && drifted.length > 0) {
    log(`signalling ${drifted.length} workflow(s) to re-send their timelines`);
    await mapLimit(drifted, concurrency, async (c) => {
      try {
        await o.client.workflow.getHandle(c.workflowId).signal(resyncReadModel);
      } catch (err) {
        c.outcome = 'unrepaired';
        c.reasons.push(`signal failed: ${(err as Error).message}`);
      }
    });
    await verifyRepairs(o, drifted.filter((c) => c.outcome === 'drifted'), concurrency);
  }

  if (o.closedWithinMs !== undefined) {
    const closed = await listExecutions(o.client, visibilityQuery(o, new Date(Date.now() - o.closedWithinMs)));
    log(`checking ${closed.length} case workflow(s) closed since ${new Date(Date.now() - o.closedWithinMs).toISOString()}`);
    checks.push(...(await mapLimit(closed, concurrency, (wf) => checkClosed(o, wf))));
  }
  markRejected(checks, await unresolvedRejections(o.pool, o.community));
  return summarize(checks);
}

/** Visibility query for running case workflows (closedSince null) or those closed since a time. */
export function visibilityQuery(o: Pick<ReconcileOptions, 'community' | 'taskQueue'>, closedSince: Date | null): string {
  const parts = [`CaseType IN (${CASE_TYPES.map(literal).join(', ')})`];
  parts.push(closedSince
    ? `ExecutionStatus IN ('Completed', 'Failed', 'Terminated', 'TimedOut', 'Canceled') AND CloseTime > ${literal(closedSince.toISOString())}`
    : `ExecutionStatus = 'Running'`);
  if (o.community !== undefined) parts.push(`Community = ${literal(o.community)}`);
  if (o.taskQueue !== undefined) parts.push(`TaskQueue = ${literal(o.taskQueue)}`);
  return parts.join(' AND ');
}

function literal(v: string): string {
  if (/['\\]/.test(v)) throw new Error(`cannot filter on ${JSON.stringify(v)}: quotes and backslashes are not supported`);
  return `'${v}'`;
}

async function listExecutions(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query })) found.push(wf);
  return found;
}

async function queryLive(client: Client, workflowId: string): Promise<ReadModelState> {
  return client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => client.workflow.getHandle(workflowId).query(getReadModelState));
}

/** Compare a running workflow with the read model; `drifted` cases are repaired by the caller. */
async function checkRunning(o: ReconcileOptions, wf: WorkflowExecutionInfo): Promise<CaseCheck> {
  const base = { caseId: caseIdOf(wf.workflowId), workflowId: wf.workflowId, running: true };
  let live: ReadModelState;
  try {
    live = await queryLive(o.client, wf.workflowId);
  } catch (err) {
    return { ...base, outcome: 'unreachable', reasons: [(err as Error).message] };
  }
  const judged = await judge(o.pool, live);
  return { ...base, caseId: live.snapshot.id, ...judged };
}

async function judge(pool: Pool, live: ReadModelState): Promise<{ outcome: CaseOutcome; reasons: string[] }> {
  if (live.writtenSeq < live.recordedSeq) {
    return { outcome: 'busy', reasons: [`events ${live.writtenSeq + 1}..${live.recordedSeq} are being written`] };
  }
  const reasons = driftReasons(live.snapshot, live.writtenSeq, await loadStoredCase(pool, live.snapshot.id));
  return { outcome: reasons.length ? 'drifted' : 'in_sync', reasons };
}

/** Wait until each signalled workflow's rows match again (its flush runs on its own schedule). */
async function verifyRepairs(o: ReconcileOptions, pending: CaseCheck[], concurrency: number): Promise<void> {
  const deadline = Date.now() + (o.verifyTimeoutMs ?? 30_000);
  let waiting = pending;
  while (waiting.length > 0) {
    await mapLimit(waiting, concurrency, async (c) => {
      try {
        const { outcome } = await judge(o.pool, await queryLive(o.client, c.workflowId));
        if (outcome === 'in_sync') c.outcome = 'repaired';
      } catch {
        // not answering right now: try again until the deadline
      }
    });
    waiting = waiting.filter((c) => c.outcome === 'drifted');
    if (waiting.length === 0) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, VERIFY_INTERVAL_MS));
  }
  for (const c of waiting) {
    c.outcome = 'unrepaired';
    c.reasons.push('still out of line after the resync signal (is a worker running for this task queue?)');
  }
}

async function checkClosed(o: ReconcileOptions, wf: WorkflowExecutionInfo): Promise<CaseCheck> {
  const base = { caseId: caseIdOf(wf.workflowId), workflowId: wf.workflowId, running: false };
  const timeline = await timelineFromHistory(o.client, wf.workflowId, wf.runId);
  if (!timeline) return { ...base, outcome: 'in_sync', reasons: [] };
  const caseId = timeline.snapshot.id;
  // Retention removed its personal data on purpose: history would bring it back (npm run retention).
  const { rows: redacted } = await o.pool.query('SELECT 1 FROM cases WHERE id = $1 AND personal_data_removed_at IS NOT NULL', [caseId]);
  if (redacted.length > 0) return { ...base, caseId, outcome: 'in_sync', reasons: ['personal data removed by retention: not compared'] };
  const writtenSeq = timeline.events[timeline.events.length - 1]?.seq ?? 0;
  const reasons = driftReasons(timeline.snapshot, writtenSeq, await loadStoredCase(o.pool, caseId));
  if (reasons.length === 0) return { ...base, caseId, outcome: 'in_sync', reasons };
  if (o.dryRun) return { ...base, caseId, outcome: 'drifted', reasons };
  try {
    await rewriteCase(o.pool, timeline.events, timeline.snapshot);
  } catch (err) {
    if (!isPostgresDataError(err)) throw err;
    return { ...base, caseId, outcome: 'rejected', reasons: [...reasons, `Postgres refused the rewrite (SQLSTATE ${err.code}): ${err.message}`] };
  }
  const after = driftReasons(timeline.snapshot, writtenSeq, await loadStoredCase(o.pool, caseId));
  return { ...base, caseId, outcome: after.length ? 'unrepaired' : 'repaired', reasons: [...reasons, ...after.map((r) => `after rewrite: ${r}`)] };
}

/**
 * Cases with batches Postgres refused (read_model_rejections) are `rejected`, whatever else
 * was found: the busy-looking workflow or the missing events are that refusal's doing.
 */
function markRejected(checks: CaseCheck[], rejections: Awaited<ReturnType<typeof unresolvedRejections>>): void {
  for (const r of rejections) {
    const reason = `events ${r.firstSeq}..${r.lastSeq} refused by Postgres (SQLSTATE ${r.sqlstate}, ${r.attempts} time(s), last ${r.lastAt}): ${r.message}`;
    const found = checks.find((c) => c.caseId === r.caseId);
    if (found) {
      found.outcome = 'rejected';
      found.reasons.push(reason);
    } else {
      checks.push({ caseId: r.caseId, workflowId: '', running: false, outcome: 'rejected', reasons: [reason] });
    }
  }
}

/** `service-request:<id>` -> `<id>` (the business key after the type prefix). */
const caseIdOf = (workflowId: string) => workflowId.slice(workflowId.indexOf(':') + 1);

function summarize(cases: CaseCheck[]): ReconcileSummary {
  const count = (...outcomes: CaseOutcome[]) => cases.filter((c) => outcomes.includes(c.outcome)).length;
  return {
    checked: cases.length, inSync: count('in_sync'), drifted: count('drifted', 'repaired', 'unrepaired'),
    repaired: count('repaired'), unrepaired: count('unrepaired'), busy: count('busy'), unreachable: count('unreachable'), rejected: count('rejected'), cases,
  };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}
