/** Talking to case workflows from the API: updates, queries, and their failures as HTTP problems. */
import {
  type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { FAILURE_BAD_REQUEST, FAILURE_INVALID_STATE, FAILURE_NOT_YOUR_ORDER } from '../workflows/messages';
import { badRequest, conflict, forbidden, HttpProblem, isTemporalUnavailable, notFound, unavailable } from './problem';

/** How long the API waits for a worker to take an update or answer a query before answering 503. */
const CALL_DEADLINE_MS = 10_000;

export function isAlreadyStarted(err: unknown): boolean {
  return err instanceof WorkflowExecutionAlreadyStartedError;
}

/** Run an update and return the case's new state; validator rejections become 409/403/400. */
export async function runUpdate<Ret, Arg>(
  client: Client, workflowId: string, def: UpdateDefinition<Ret, [Arg]>, arg: Arg, caseLabel: string,
  closedState: () => Promise<string | null>,
): Promise<Ret> {
  try {
    return await client.withDeadline(Date.now() + CALL_DEADLINE_MS, () =>
      client.workflow.getHandle(workflowId).executeUpdate(def, { args: [arg] }));
  } catch (err) {
    throw await updateProblem(err, caseLabel, closedState);
  }
}

async function updateProblem(err: unknown, caseLabel: string, closedState: () => Promise<string | null>): Promise<HttpProblem> {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const details = (cause.details?.[0] ?? {}) as { status?: string };
      if (cause.type === FAILURE_INVALID_STATE) return conflict(cause.message, { state: details.status });
      if (cause.type === FAILURE_NOT_YOUR_ORDER) return forbidden(cause.message);
      if (cause.type === FAILURE_BAD_REQUEST) return badRequest(cause.message);
    }
    return conflict((cause as Error | undefined)?.message ?? err.message);
  }
  const message = (err as Error)?.message ?? '';
  if (err instanceof WorkflowNotFoundError || /already completed/i.test(message)) {
    // Temporal answers "not found" for an update to a finished workflow: a closed case is a 409.
    const state = await closedState();
    if (state) return conflict(`the case is ${state}`, { state });
    return notFound(caseLabel);
  }
  // No worker took the update before the deadline (all workers down or restarting): transient, like Temporal being down.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isTemporalUnavailable(err)) {
    return unavailable('the case could not be reached (Temporal or its workers are not answering); retry shortly');
  }
  return err as HttpProblem;
}

/** Query a case's live state; null when the workflow is unknown or not answering (callers fall back to the read model). */
export async function queryState<T>(client: Client, workflowId: string, def: QueryDefinition<T>): Promise<T | null> {
  try {
    return await client.withDeadline(Date.now() + 5000, () => client.workflow.getHandle(workflowId).query(def));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    if (isTemporalUnavailable(err)) return null;
    throw err;
  }
}
