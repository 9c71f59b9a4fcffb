/**
 * A closed case workflow can no longer re-send its timeline, but its history still holds
 * every batch it handed to the read-model activity: the inputs of its `recordCaseEvents`
 * activity tasks. Decoded with the client's data converter (so the payload codec applies).
 */
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { CaseEvent, CaseEventBatch, CaseSnapshot } from '../domain/caseEvents';

const RECORD_ACTIVITY = 'recordCaseEvents';

export interface HistoryTimeline {
  events: CaseEvent[];
  /** The snapshot of the last batch: the case as the workflow ended it. */
  snapshot: CaseSnapshot;
}

/** The timeline a run wrote, or null when it recorded nothing. */
export async function timelineFromHistory(client: Client, workflowId: string, runId: string): Promise<HistoryTimeline | null> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const bySeq = new Map<number, CaseEvent>();
  let snapshot: CaseSnapshot | null = null;
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== RECORD_ACTIVITY) continue;
    const [batch] = (await decodeArrayFromPayloads(client.options.loadedDataConverter, scheduled.input?.payloads)) as [CaseEventBatch];
    for (const e of batch.events) bySeq.set(e.seq, e);
    snapshot = batch.snapshot;
  }
  if (!snapshot) return null;
  return { events: [...bySeq.values()].sort((a, b) => a.seq - b.seq), snapshot };
}
