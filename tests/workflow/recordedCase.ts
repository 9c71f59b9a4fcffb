/**
 * What a case workflow under test wrote through its (fake) read-model activity, and waiting
 * for it: the base of the service-request and registration test worlds.
 */
import type { CaseEvent, CaseEventBatch, CaseSnapshot } from '../../src/domain/caseEvents';

export class RecordedCase {
  /** Every event the workflow wrote, in the order the batches arrived (duplicates would stay visible). */
  readonly timeline: CaseEvent[] = [];
  readonly snapshots: CaseSnapshot[] = [];
  private readonly waiters = new Set<() => void>();

  get lastSnapshot(): CaseSnapshot | undefined { return this.snapshots.at(-1); }
  types(): string[] { return this.timeline.map((e) => e.type); }
  events(type: string): CaseEvent[] { return this.timeline.filter((e) => e.type === type); }

  /** What the fake `recordCaseEvents` activity does once it decides to succeed. */
  record(batch: CaseEventBatch): void {
    this.timeline.push(...batch.events);
    this.snapshots.push(batch.snapshot);
    this.changed();
  }

  /**
   * Wait (in real time, event driven) until the workflow has written what `check` looks for.
   * Time on the test server stays locked meanwhile, so no deadline passes while we wait.
   */
  until<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const hit = check();
    if (hit) return Promise.resolve(hit);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(onChange);
        reject(new Error(`timed out waiting for ${what}; timeline so far: ${this.types().join(', ')}`));
      }, timeoutMs);
      const onChange = () => {
        const v = check();
        if (!v) return;
        clearTimeout(timer);
        this.waiters.delete(onChange);
        resolve(v);
      };
      this.waiters.add(onChange);
    });
  }

  /** Wait until the read model's case row shows `status` (the workflow has flushed after the change). */
  waitForStatus(status: string): Promise<CaseSnapshot> {
    return this.until(`case row status ${status}`, () => (this.lastSnapshot?.status === status ? this.lastSnapshot : undefined));
  }

  /** Something the world records changed: wake the waiters. */
  changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
