/**
 * Rows written after the answer, in groups: a row waits up to `lingerMs` for others and one
 * statement carries them all (up to `maxBatch`). A Postgres round trip per request was the
 * API's largest cost per intake after the workflow start itself (BENCHMARKS.md, issues 7 and
 * 17). Rows a failed write held are kept, in order, and retried every `retryMs`, so an outage
 * delays them instead of losing them; `failing` says so meanwhile. What a crash can lose is what
 * the last `lingerMs` had not yet written (each user says what makes that good or acceptable);
 * a stopping process writes everything out with `flush()`.
 *
 * The audit log (src/api/audit.ts) and the tracking codes of new cases (src/db/trackingCodes.ts)
 * use it. No library does this for node-postgres; it is small and tested through both.
 */
import type { Logger } from '../logger';

export interface GroupWriterOptions<T> {
  /** What the rows are, in log lines. */
  what: string;
  /** One statement for the whole batch; it throws to keep the rows and retry them. */
  write: (batch: T[]) => Promise<void>;
  lingerMs: number;
  maxBatch: number;
  retryMs: number;
  /** Rows held at most; beyond: `drop-oldest` (counted in a warning) or `refuse` (add throws). */
  maxPending: number;
  overflow: 'drop-oldest' | 'refuse';
  log?: Logger;
}

export class GroupWriter<T> {
  private pending: T[] = [];
  private writing: T[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private dropped = 0;
  /** The last write failed; rows are being kept and retried. */
  failing = false;

  constructor(private readonly o: GroupWriterOptions<T>) {}

  add(row: T): void {
    if (this.pending.length >= this.o.maxPending) {
      if (this.o.overflow === 'refuse') throw new Error(`too many ${this.o.what} waiting for Postgres`);
      this.dropped += 1;
      this.pending.shift();
    }
    this.pending.push(row);
    if (this.inFlight) return;
    if (this.pending.length >= this.o.maxBatch && !this.failing) this.kick();
    else this.schedule(this.o.lingerMs);
  }

  /** Whether a row matching `match` waits or is on its way (not yet known to be written). */
  holds(match: (row: T) => boolean): boolean {
    return this.pending.some(match) || this.writing.some(match);
  }

  /** Write whatever is pending now, batch after batch (a failure keeps the rows and retries later), for a read that needs them and for shutdown. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.clearTimer();
    while (this.pending.length > 0 && !this.inFlight) {
      await (this.inFlight = this.run(false));
      if (this.failing) return;
    }
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref(); // a stopping process writes what it holds through flush(), not by waiting on a timer
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private kick(): void {
    this.clearTimer();
    if (!this.inFlight && this.pending.length > 0) this.inFlight = this.run(true);
  }

  private async run(continueAfter: boolean): Promise<void> {
    const batch = this.pending.splice(0, this.o.maxBatch);
    this.writing = batch;
    let ok = false;
    try {
      await this.o.write(batch);
      ok = true;
      if (this.failing || this.dropped > 0) {
        this.o.log?.info({ rows: batch.length, dropped: this.dropped }, `${this.o.what} writes resumed`);
        this.failing = false;
        this.dropped = 0;
      }
    } catch (err) {
      this.pending = batch.concat(this.pending);
      if (!this.failing) this.o.log?.warn({ err: (err as Error).message, rows: this.pending.length }, `${this.o.what} write failed; keeping the rows and retrying`);
      this.failing = true;
    } finally {
      this.writing = [];
      this.inFlight = null;
    }
    if (this.pending.length === 0) return;
    if (!ok) this.schedule(this.o.retryMs);
    else if (!continueAfter) return;
    else if (this.pending.length >= this.o.maxBatch) this.kick();
    else this.schedule(this.o.lingerMs);
  }
}
