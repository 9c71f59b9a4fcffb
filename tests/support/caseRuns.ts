/**
 * The runs of a case workflow that continued as new, oldest first, read from Temporal's own
 * histories (each run's last event names the next run): how the long-lived-case tests see
 * that a case switched runs and how long each run's history got.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { eventually } from './eventually';

const { EventType } = temporal.api.enums.v1;

export interface CaseRun {
  runId: string;
  /** Events in the run's history. */
  historyLength: number;
  /** EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, ..._COMPLETED, or the last event of a running run. */
  lastEvent: string;
}

export async function caseRuns(client: Client, workflowId: string): Promise<CaseRun[]> {
  const latest = await client.workflow.getHandle(workflowId).fetchHistory();
  let runId: string | undefined = latest.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId ?? undefined;
  const runs: CaseRun[] = [];
  while (runId) {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const last = events[events.length - 1];
    runs.push({ runId, historyLength: events.length, lastEvent: EventType[last?.eventType ?? 0] });
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    if (runs.length > 1000) throw new Error(`more than 1000 runs of ${workflowId}?`);
  }
  return runs;
}

/** Events a workflow task leaves behind that need no further task. */
const SETTLED_AFTER_TASK = new Set([
  'EVENT_TYPE_TIMER_STARTED', 'EVENT_TYPE_TIMER_CANCELED', 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
  'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED', 'EVENT_TYPE_MARKER_RECORDED',
]);

/**
 * Wait until the case's latest run has nothing in flight: its last workflow task completed
 * and left only timers behind (no activity, no further task). A client that acts again at
 * once would otherwise race the task that continues the case as new; Temporal then fails
 * that task (UNHANDLED_COMMAND) and retries it after the new update, which is correct, but
 * a test that never pauses would keep the case from ever switching.
 */
export async function untilQuiet(client: Client, workflowId: string): Promise<void> {
  await eventually(async () => {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const types = events.map((e) => EventType[e.eventType ?? 0]);
    const lastTask = types.lastIndexOf('EVENT_TYPE_WORKFLOW_TASK_COMPLETED');
    return lastTask >= 0 && types.slice(lastTask + 1).every((t) => SETTLED_AFTER_TASK.has(t));
  }, { what: `${workflowId} quiet`, intervalMs: 20 });
}
