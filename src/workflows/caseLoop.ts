/**
 * The main loop every case workflow shares: write what happened, stop when the case has
 * ended, do the work that needs no waiting, else sleep until something changes or the next
 * deadline comes (and fire it). Handlers only change state and say so.
 */
import { allHandlersFinished, condition } from '@temporalio/workflow';

export interface Deadline {
  at: number;
  fire: () => Promise<void> | void;
}

export interface CaseLoop {
  /** Whether a handler or a recorded event changed the case since `resetChanged`. */
  changed(): boolean;
  resetChanged(): void;
  /** Send the queued partner notifications and write the recorded events. */
  settle(): Promise<void>;
  finished(): boolean;
  /** Work the case can do now without waiting; false when there is none. */
  work(): Promise<boolean>;
  /** The soonest open deadline, or null when the case waits on people alone. */
  nextDeadline(): Deadline | null;
}

export async function runCaseLoop(c: CaseLoop): Promise<void> {
  for (;;) {
    c.resetChanged();
    await c.settle();
    if (c.finished()) break;
    if (await c.work()) continue;
    const deadline = c.nextDeadline();
    if (!deadline) {
      await condition(c.changed);
      continue;
    }
    const remaining = deadline.at - Date.now();
    const woken = remaining > 0 && (await condition(c.changed, remaining));
    if (!woken) await deadline.fire();
  }
  // Updates still running finish (and answer) before the workflow completes.
  await condition(allHandlersFinished);
  await c.settle();
}
