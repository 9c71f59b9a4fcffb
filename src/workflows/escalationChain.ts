/**
 * The escalation chain inside a case workflow (逐级督办): the pure steps of
 * domain/escalationChain.ts, their timeline events, the climb as one of the case's
 * deadlines, and the escalation.raised webhooks to each level's contacts.
 */
import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { CaseActivities, EscalationNotice } from '../activities';
import type { EscalationReason, EscalationRecord } from '../domain/escalation';
import {
  acknowledgeEscalations, type ChainEvent, climbEscalations, hasOpenEscalation, nextEscalationStepAt, raiseEscalation,
  resolveEscalations,
} from '../domain/escalationChain';
import type { SlaClockSnapshot } from '../domain/slaClock';
import type { CaseType } from '../domain/vocabulary';

/**
 * Working-day deadlines, holds and the escalation chain. Cases whose history began without
 * this marker keep wall-clock deadlines and one-step escalations (every committed history replays).
 */
export const SLA_CLOCKS_PATCH = 'sla-clocks-and-escalation-chain';

/**
 * An escalation still open when the case ends (a survey of 1-2 raises one as the case closes)
 * climbs on: the workflow waits after the end until each is acknowledged or at its top level.
 * Asked only when a case ends with such an escalation; before it, the workflow ended at once.
 */
export const CLIMB_AFTER_CLOSE_PATCH = 'escalation-climbs-after-close';

/**
 * Contacts are told with a few quick retries, then the case moves on (the timeline says who
 * was not reached); a retry sends only to contacts not reached yet (escalationWebhooks.ts).
 */
const { notifyEscalationContacts } = proxyActivities<CaseActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4 },
});

interface Recorder {
  record(type: string, actor: string, data?: Record<string, unknown>): void;
}

export interface ChainContext {
  caseId: string;
  caseType: CaseType;
  workflowId: string;
  community: () => string | null;
}

export class CaseEscalations {
  private readonly notices: EscalationNotice[] = [];

  constructor(
    private readonly kernel: Recorder,
    /** The case state's own list: it is shown, snapshotted and carried across runs. */
    private readonly records: EscalationRecord[],
    private readonly sla: SlaClockSnapshot,
    private readonly context: ChainContext,
  ) {}

  /** Every cause in the contract ends here: a new escalation unless one for the same cause is open. */
  raise(reason: EscalationReason): void {
    this.apply(raiseEscalation(this.records, reason, Date.now(), this.sla), 'system');
  }

  /** The cause went away: the escalations for it are resolved. */
  resolve(reasons: readonly EscalationReason[] | 'all', cause: string, actor = 'system'): void {
    this.apply(resolveEscalations(this.records, reasons, Date.now(), cause), actor);
  }

  /** Someone takes them on: the climb stops. */
  acknowledge(actor: string, note: string): void {
    this.apply(acknowledgeEscalations(this.records, actor, note, Date.now()), actor);
  }

  /** For validators: whether there is anything to acknowledge. */
  get acknowledgeable(): boolean {
    return hasOpenEscalation(this.records);
  }

  /** The next climb, as a deadline of the case. */
  nextStep(): { at: number; fire: () => void } | null {
    const at = nextEscalationStepAt(this.records);
    return at === null ? null : { at, fire: () => this.apply(climbEscalations(this.records, Date.now(), this.sla), 'system') };
  }

  /** Whether an open escalation has a step still to climb. */
  get climbing(): boolean {
    return nextEscalationStepAt(this.records) !== null;
  }

  /**
   * After the case has ended: the open escalations climb on, each step after its wait, until
   * each is acknowledged (the acknowledge update still works) or at its top level; the contacts
   * of every level reached are told and the timeline is written (`flush`) after each step.
   */
  async climbAfterEnd(flush: () => Promise<void>): Promise<void> {
    for (;;) {
      await this.sendNotices();
      await flush();
      const at = nextEscalationStepAt(this.records);
      if (at === null) break;
      const remaining = at - Date.now();
      // Woken early when someone acknowledges it (the next step is then gone).
      if (remaining > 0 && (await condition(() => nextEscalationStepAt(this.records) !== at, remaining))) continue;
      this.apply(climbEscalations(this.records, Date.now(), this.sla), 'system');
    }
    await condition(allHandlersFinished);
    await flush();
  }

  /** Tell the contacts of each level reached since the last call (the loop's work); false when there was nobody to tell. */
  async sendNotices(): Promise<boolean> {
    if (this.notices.length === 0) return false;
    while (this.notices.length > 0) {
      const notice = this.notices.shift()!;
      try {
        const result = await notifyEscalationContacts(notice);
        if (result.contacts === 0) continue; // nobody to tell at this level in this community
        this.kernel.record('escalation_notified', 'system', { escalation: notice.escalation, level: notice.level, ...result });
      } catch (err) {
        this.kernel.record('escalation_notification_failed', 'system', { escalation: notice.escalation, level: notice.level, error: (err as Error).message });
      }
    }
    return true;
  }

  private apply(events: ChainEvent[], actor: string): void {
    for (const e of events) {
      this.kernel.record(e.type, actor, e.data);
      if (!e.notify) continue;
      this.notices.push({
        deliveryId: `${this.context.workflowId}:escalation:${e.notify.number}:${e.notify.level}`,
        caseId: this.context.caseId, caseType: this.context.caseType, escalation: e.notify.number, level: e.notify.level, reason: e.notify.reason,
        community: this.context.community(), since: e.notify.since,
      });
    }
  }
}

/** The sooner of two deadlines (either may be absent). */
export function sooner<D extends { at: number }>(a: D | null, b: D | null): D | null {
  if (!a) return b;
  if (!b) return a;
  return b.at < a.at ? b : a;
}
