/**
 * The case kernel: what every case workflow shares, once (docs/case-kernel.md).
 *
 * - the timeline (CaseRecorder: numbered events, one read-model activity per quiet point),
 *   the `resyncReadModel` signal and the `getReadModelState` query;
 * - the "something changed" flag that wakes the main loop;
 * - the partner-notification queue and its delivery (signed webhooks, ids stable across
 *   retries and runs);
 * - the action table of the case-type registry, for validators;
 * - the main loop: write what happened, stop when the case has ended, do the work that needs
 *   no waiting, else sleep until something changes or the next deadline comes (and fire it);
 * - continue-as-new for cases that live for years, carrying state, memory and numbering;
 * - replay-aware workflow logs at state changes.
 *
 * In the style of the safe-message-handlers sample: handlers only change state (through the
 * case type's code) and say so; the loop performs the side effects.
 */
import { allHandlersFinished, condition, log, makeContinueAsNewFunc, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CaseEvent, CaseRunInput, CaseSnapshot, KernelCarryOver } from '../domain/caseEvents';
import { type ActionOf, allows, isTerminal, type StatusOf } from '../domain/caseTypes';
import type { CaseType } from '../domain/vocabulary';
import { CaseRecorder } from './caseRecorder';
import { resyncReadModel } from './messages';
import { type PartnerNotification, partnerNotifier } from './partnerNotifier';
import { invalidState } from './validation';

export { caseActivities } from './caseActivities';
export type { PartnerNotification } from './partnerNotifier';

export interface Deadline {
  at: number;
  fire: () => Promise<void> | void;
}

/** What a case type tells the kernel when it plugs in. */
export interface CaseSetup<T extends CaseType, S extends { id: string; status: StatusOf<T> }, M> {
  type: T;
  /** The workflow's input; `resume` and `continueAsNewAfterEvents` are read from it. */
  input: CaseRunInput<S, M> & { caseId: string };
  /** The live state (shown by queries and updates) and the private memory, both carried across runs. */
  state: S;
  memory: M;
  /** The read-model row of the case, from the state and memory. */
  snapshot: (state: S, memory: M, workflowId: string) => CaseSnapshot;
}

/** What a case type gives the loop: work to do now, and its next deadline. */
export interface CaseBehaviour {
  /** Work the case can do now without waiting; false when there is none. */
  work(): Promise<boolean>;
  /** The soonest open deadline, or null when the case waits on people alone. */
  nextDeadline(): Deadline | null;
  /**
   * The type's own read-model rows (care plans: their visits), written at every quiet point
   * before the queued webhooks go out and the timeline is written, also after the case ends
   * and before it continues as new. What it writes must wake the loop when it changes.
   */
  writeReadModel?(): Promise<void>;
}

export class CaseKernel<T extends CaseType, S extends { id: string; status: StatusOf<T> }, M> {
  readonly workflowId = workflowInfo().workflowId;
  readonly caseId: string;
  readonly state: S;
  readonly memory: M;
  /** Whether a handler, a recorded event or a queued notification changed the case since the loop last looked. */
  private changed = false;
  private readonly recorder: CaseRecorder;
  private readonly notifications: PartnerNotification[] = [];
  private readonly deliveries: { count: number };
  private readonly deliver: ReturnType<typeof partnerNotifier>;
  private readonly run: number;
  private loggedStatus: string;
  private writeOwnReadModel: () => Promise<void> = async () => undefined;

  /** In a continued run, state and memory come from the run before (use `kernel.state`, not the fresh one passed in). */
  constructor(private readonly setup: CaseSetup<T, S, M>) {
    const resume = setup.input.resume;
    this.caseId = setup.input.caseId;
    this.state = resume?.state ?? setup.state;
    this.memory = resume?.memory ?? setup.memory;
    this.run = (resume?.kernel.run ?? 0) + 1;
    this.deliveries = { count: resume?.kernel.deliveryStep ?? 0 };
    this.recorder = new CaseRecorder(() => setup.snapshot(this.state, this.memory, this.workflowId), resume?.kernel.lastEvent ?? null);
    this.deliver = partnerNotifier(this.caseId, setup.type, (type, actor, data) => this.record(type, actor, data), this.deliveries);
    this.loggedStatus = this.state.status;
    setHandler(resyncReadModel, () => { this.recorder.resync(); this.wake(); });
  }

  /** True in a run that continued an earlier one: the case's opening steps are done already. */
  get resumed(): boolean {
    return this.setup.input.resume !== undefined;
  }

  /** Append a business event to the timeline (written at the next quiet point) and wake the loop. */
  record(type: string, actor: string, data: Record<string, unknown> = {}): void {
    this.recorder.record(type, actor, data);
    this.changed = true;
  }

  /** Wake the loop without recording anything (a change the timeline does not show). */
  wake(): void {
    this.changed = true;
  }

  /** Queue a webhook: sent by the loop, in order, before the timeline is written. */
  queueNotification(n: PartnerNotification): void {
    this.notifications.push(n);
    this.changed = true;
  }

  /** Deliver one webhook now; with `stale`, it is cancelled once `stale()` turns true. Resolves to whether it arrived. */
  notify(n: PartnerNotification, stale?: () => boolean): Promise<boolean> {
    return this.deliver(n, stale);
  }

  /** Write the timeline now (e.g. so the read model names a partner before its webhook goes out). */
  flush(): Promise<void> {
    return this.recorder.flush();
  }

  /** For validators: reject (409, naming the state) an action the action table does not allow in the current status. */
  require(action: ActionOf<T>, verb: string = action): void {
    const status = this.state.status;
    if (!allows(this.setup.type, status, action)) throw invalidState(status, `cannot ${verb} a case that is ${status}`);
  }

  get finished(): boolean {
    return isTerminal(this.setup.type, this.state.status);
  }

  /** Send the queued notifications, one at a time (a partner sees its order before its withdrawal), then write the timeline. */
  private async settle(): Promise<void> {
    await this.writeOwnReadModel();
    while (this.notifications.length > 0) await this.deliver(this.notifications.shift()!);
    await this.recorder.flush();
    this.logStatusChange();
  }

  private logStatusChange(): void {
    const status = this.state.status;
    if (status === this.loggedStatus) return;
    // Ids and statuses only: case details (names, phones, addresses) never go to logs.
    log.info('case status changed', { caseId: this.caseId, caseType: this.setup.type, from: this.loggedStatus, to: status, seq: this.recorder.seq });
    this.loggedStatus = status;
  }

  /** The main loop; returns the final state once the case has ended (or continues as new). */
  async runUntilFinished(behaviour: CaseBehaviour): Promise<S> {
    if (behaviour.writeReadModel) this.writeOwnReadModel = () => behaviour.writeReadModel!();
    if (!this.resumed) log.info('case opened', { caseId: this.caseId, caseType: this.setup.type, status: this.state.status });
    else log.info('case continued as new', { caseId: this.caseId, caseType: this.setup.type, run: this.run, seq: this.recorder.seq });
    for (;;) {
      this.changed = false;
      await this.settle();
      if (this.finished) break;
      if (await behaviour.work()) continue;
      if (this.continueAsNewDue()) {
        // Updates still running finish (and answer) first; anything they changed is settled by the next turn.
        await condition(allHandlersFinished);
        if (!this.changed && this.notifications.length === 0 && this.recorder.pending === 0) return this.continueAsNew();
        continue;
      }
      const deadline = behaviour.nextDeadline();
      if (!deadline) {
        await condition(() => this.changed);
        continue;
      }
      const remaining = deadline.at - Date.now();
      const woken = remaining > 0 && (await condition(() => this.changed, remaining));
      if (!woken) await deadline.fire();
    }
    // Updates still running finish (and answer) before the workflow completes.
    await condition(allHandlersFinished);
    await this.settle();
    log.info('case ended', { caseId: this.caseId, caseType: this.setup.type, status: this.state.status, seq: this.recorder.seq });
    return this.state;
  }

  /**
   * Temporal suggests continuing when the history grows long or large, or many updates
   * have run; `continueAsNewAfterEvents` (tests) forces it earlier.
   */
  private continueAsNewDue(): boolean {
    const info = workflowInfo();
    const limit = this.setup.input.continueAsNewAfterEvents;
    return info.continueAsNewSuggested || (limit !== undefined && info.historyLength >= limit);
  }

  /** Everything is written and no handler runs: start the next run with the state, memory and numbering. */
  private async continueAsNew(): Promise<never> {
    const lastEvent: CaseEvent | null = this.recorder.lastEvent;
    const kernel: KernelCarryOver = { lastEvent, deliveryStep: this.deliveries.count, run: this.run };
    log.info('case continuing as new', { caseId: this.caseId, caseType: this.setup.type, run: this.run, seq: this.recorder.seq });
    const info = workflowInfo();
    const next = { ...this.setup.input, resume: { state: this.state, memory: this.memory, kernel } };
    // Memo (the intake's request hash) and search attributes go with the case into the next run.
    return makeContinueAsNewFunc<(input: typeof next) => Promise<S>>({
      memo: info.memo, typedSearchAttributes: info.typedSearchAttributes,
    })(next);
  }
}
