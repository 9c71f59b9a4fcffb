/**
 * The part every case workflow shares: a numbered timeline of business events,
 * written to the read model through one activity per batch (the workflow calls
 * `flush()` at each quiet point, so one transition costs one activity, not one per event).
 *
 * The recorder keeps the whole timeline in memory so that the reconciler (`npm run
 * reconcile`) can ask for it again: `getReadModelState` tells what was recorded and
 * written, and after `resync()` the next flush re-sends every event and the current
 * snapshot. The read model's upserts by (case id, seq) make the repeat harmless.
 *
 * A continued run (continue-as-new) starts from the last event of the run before, which
 * was written before the switch: numbering goes on after it, and a resync re-sends it with
 * this run's events (earlier runs' events were confirmed written before each switch).
 */
import { ActivityFailure, ApplicationFailure, log, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { type CaseEvent, type CaseSnapshot, READ_MODEL_DATA_ERROR } from '../domain/caseEvents';
import { SA } from '../domain/searchAttributes';
import { caseActivities } from './caseActivities';
import { getReadModelState } from './messages';

/** Read-model writes retry until Postgres is back: a case must never lose an event to an outage. */
const { recordCaseEvents } = caseActivities;

/** Events per activity call when the whole timeline is re-sent: keeps each payload well under Temporal's limits. */
const RESYNC_CHUNK = 200;

export class CaseRecorder {
  /** This run's events, after the carried last event of the run before (if any). */
  private readonly timeline: CaseEvent[];
  /** Seq of the event before `timeline[0]`. */
  private readonly baseSeq: number;
  /** Seq of the last event the read-model activity has confirmed. */
  private writtenSeq: number;
  private resyncRequested = false;
  private lastAttributes = '';

  constructor(private readonly snapshot: () => CaseSnapshot, carriedLastEvent: CaseEvent | null = null) {
    this.timeline = carriedLastEvent ? [carriedLastEvent] : [];
    this.baseSeq = carriedLastEvent ? carriedLastEvent.seq - 1 : 0;
    this.writtenSeq = carriedLastEvent?.seq ?? 0;
    setHandler(getReadModelState, () => ({ snapshot: this.snapshot(), recordedSeq: this.seq, writtenSeq: this.writtenSeq }));
  }

  /** Seq of the last event recorded. */
  get seq(): number {
    return this.baseSeq + this.timeline.length;
  }

  /** The last event recorded: what a continued run carries. */
  get lastEvent(): CaseEvent | null {
    return this.timeline.at(-1) ?? null;
  }

  /** Append an event; it reaches Postgres at the next flush. */
  record(type: string, actor: string, data: Record<string, unknown> = {}): void {
    this.timeline.push({ seq: this.seq + 1, at: new Date().toISOString(), type, actor, data });
  }

  /** Events recorded but not yet written. */
  get pending(): number {
    return this.seq - this.writtenSeq;
  }

  /** Re-send the whole timeline and the snapshot at the next flush (the workflow must wake up to flush). */
  resync(): void {
    this.resyncRequested = true;
  }

  /** Write every pending event and the case row after them, then mirror the state in search attributes. */
  async flush(): Promise<void> {
    while (this.resyncRequested || this.pending > 0) {
      const resync = this.resyncRequested;
      this.resyncRequested = false;
      const upTo = this.seq; // handlers may record more while an activity runs; the loop picks those up
      const end = upTo - this.baseSeq;
      const batches = resync ? chunks(this.timeline.slice(0, end), RESYNC_CHUNK) : [this.timeline.slice(this.writtenSeq - this.baseSeq, end)];
      for (const events of batches) {
        try {
          // The case's first event carries its tracking code (from the memo the API set at intake), so
          // a code handed out is stored even when the API went away before its own write.
          const trackingCode = events[0]?.seq === 1 ? workflowInfo().memo?.trackingCode : undefined;
          await recordCaseEvents({
            events, snapshot: this.snapshot(), ...(resync ? { resync } : {}), ...(typeof trackingCode === 'string' ? { trackingCode } : {}),
          });
        } catch (err) {
          // Postgres will never take this batch (the activity recorded and counted it, reconcile
          // reports it): the case goes on rather than stop. Other failures are not expected
          // (the activity retries until Postgres is back) and fail the task as before.
          if (!isReadModelDataError(err)) throw err;
          log.warn('read model refused a batch; the case goes on', { firstSeq: events[0]?.seq, lastSeq: events.at(-1)?.seq });
        }
      }
      this.writtenSeq = Math.max(this.writtenSeq, upTo);
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

function isReadModelDataError(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === READ_MODEL_DATA_ERROR;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
