/**
 * `npm run reconcile -- --rewrite <caseId>`: replace a case's timeline and row with what its
 * current workflow run recorded, read from Temporal history.
 *
 * Why: after a workflow reset (`temporal workflow reset`), the new run re-records the events
 * after the reset point under the same seq numbers, and the read model's writes skip seqs
 * already stored (that is what makes replays harmless). The abandoned branch's events stay
 * in the timeline and its row, with a higher last seq, is never overwritten. The ordinary
 * reconciliation cannot tell them from the new run's, so an operator names the case after a
 * reset and it is rewritten whole: old events, deadlines and row deleted, the current run's
 * written anew, in one transaction. A running workflow is then signalled to re-send what it
 * recorded after its last activity (idempotent).
 *
 * A case that continued as new keeps only its own run's events in each run's history, so
 * the timeline is gathered along the chain: from the current run back through each run's
 * `continuedExecutionRunId` (a reset run's start event is copied from its base run, so it
 * names the same predecessor). If a run of the chain is gone (namespace retention), the
 * rewrite is refused and nothing is deleted.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { recordCaseEventBatch } from '../db/readModel';
import { redactCase } from '../retention/retention';
import { registrationWorkflowId, resyncReadModel, serviceRequestWorkflowId } from '../workflows/messages';
import type { CaseEvent } from '../domain/caseEvents';
import { type HistoryTimeline, timelineFromHistory } from './historyTimeline';

export interface TimelineRewrite {
  caseId: string;
  workflowId: string;
  runId: string;
  running: boolean;
  /** Events the read model held before, and holds now. */
  removed: number;
  written: number;
}

const CHUNK = 200;

export async function rewriteTimelineFromHistory(o: { client: Client; pool: Pool }, caseId: string): Promise<TimelineRewrite> {
  const { workflowId, runId, running } = await currentRun(o, caseId);
  const timeline = await timelineOfChain(o.client, workflowId, runId);
  if (!timeline) throw new Error(`${workflowId} (run ${runId}) has recorded no events yet: nothing to rewrite`);
  if (timeline.snapshot.id !== caseId) throw new Error(`${workflowId} records case ${timeline.snapshot.id}, not ${caseId}`);

  const db = await o.pool.connect();
  let removed = 0;
  try {
    await db.query('BEGIN');
    const { rows: marked } = await db.query('SELECT 1 FROM cases WHERE id = $1 AND personal_data_removed_at IS NOT NULL', [caseId]);
    removed = (await db.query('DELETE FROM case_events WHERE case_id = $1', [caseId])).rowCount ?? 0;
    await db.query('DELETE FROM case_deadlines WHERE case_id = $1', [caseId]);
    await db.query('DELETE FROM cases WHERE id = $1', [caseId]);
    for (let i = 0; i < timeline.events.length; i += CHUNK) {
      await recordCaseEventBatch(db, { events: timeline.events.slice(i, i + CHUNK), snapshot: timeline.snapshot, resync: true });
    }
    // A case past retention stays without its personal data.
    if (marked.length > 0) await redactCase(db, caseId);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
  if (running) await o.client.workflow.getHandle(workflowId, runId).signal(resyncReadModel);
  return { caseId, workflowId, runId, running, removed, written: timeline.events.length };
}

/** The events of every run from the first to `runId` (later runs win a seq), and the snapshot of the last run that recorded one. */
async function timelineOfChain(client: Client, workflowId: string, runId: string): Promise<HistoryTimeline | null> {
  const bySeq = new Map<number, CaseEvent>();
  let snapshot: HistoryTimeline['snapshot'] | null = null;
  const seen = new Set<string>();
  for (let run: string | null = runId; run; run = await previousRun(client, workflowId, run)) {
    if (seen.has(run)) throw new Error(`${workflowId}: run ${run} appears twice in its continue-as-new chain`);
    seen.add(run);
    const part = await timelineFromHistory(client, workflowId, run).catch((err: Error) => {
      throw new Error(`${workflowId} run ${run} cannot be read (${err.message}); is it past the namespace retention? Nothing was changed`);
    });
    if (!part) continue;
    snapshot ??= part.snapshot;
    for (const e of part.events) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  }
  return snapshot ? { events: [...bySeq.values()].sort((a, b) => a.seq - b.seq), snapshot } : null;
}

/** The run this one continued (continue-as-new), from its first history event. */
async function previousRun(client: Client, workflowId: string, runId: string): Promise<string | null> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace, execution: { workflowId, runId }, maximumPageSize: 1,
  });
  return history?.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || null;
}

/** The case's workflow (from its row, else by trying each case type's id) and its current run. */
async function currentRun(o: { client: Client; pool: Pool }, caseId: string): Promise<{ workflowId: string; runId: string; running: boolean }> {
  const { rows } = await o.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM cases WHERE id = $1', [caseId]);
  const candidates = rows[0] ? [rows[0].workflow_id] : [serviceRequestWorkflowId(caseId), registrationWorkflowId(caseId)];
  for (const workflowId of candidates) {
    try {
      const d = await o.client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: d.runId, running: d.status.name === 'RUNNING' };
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
    }
  }
  throw new Error(`no workflow found for case ${caseId} (tried ${candidates.join(', ')})`);
}
