/**
 * The part every case workflow shares: a numbered timeline of business events,
 * written to the read model through one activity per batch (the workflow calls
 * `flush()` at each quiet point, so one transition costs one activity, not one per event).
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { CaseActivities } from '../activities';
import type { CaseEvent, CaseSnapshot } from '../domain/caseEvents';
import { SA } from '../domain/searchAttributes';


/** Read-model writes retry until Postgres is back: a case must never lose an event to an outage. */
const { recordCaseEvents } = proxyActivities<CaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export class CaseRecorder {
  private seq = 0;
  private readonly outbox: CaseEvent[] = [];
  private lastAttributes = '';

  constructor(private readonly snapshot: () => CaseSnapshot) {}

  /** Append an event; it reaches Postgres at the next flush. */
  record(type: string, actor: string, data: Record<string, unknown> = {}): void {
    this.outbox.push({ seq: ++this.seq, at: new Date().toISOString(), type, actor, data });
  }

  get pending(): number {
    return this.outbox.length;
  }

  /** Write every pending event and the case row after them, then mirror the state in search attributes. */
  async flush(): Promise<void> {
    while (this.outbox.length > 0) {
      const events = this.outbox.splice(0);
      await recordCaseEvents({ events, snapshot: this.snapshot() });
    }
    this.updateSearchAttributes();
  }

  private updateSearchAttributes(): void {
    const s = this.snapshot();
    const pairs: SearchAttributeUpdatePair[] = [
      { key: SA.caseStatus, value: s.status },
      { key: SA.partnerId, value: s.partnerId },
      { key: SA.overdue, value: s.overdue },
    ];
    const fingerprint = JSON.stringify([s.status, s.partnerId, s.overdue]);
    if (fingerprint === this.lastAttributes) return;
    this.lastAttributes = fingerprint;
    upsertSearchAttributes(pairs);
  }
}
