import type { RequestHandler } from 'express';
import type { Pool } from 'pg';
import type { Logger } from '../logger';
import type { Principal } from './auth';
import { redactPath } from './redact';

export type AuditKind = 'write' | 'read' | 'refused';

interface AuditRow {
  at: Date; keyId: string | null; role: string | null; method: string; path: string; caseId: string | null; status: number;
  kind?: AuditKind; clientAborted?: boolean;
}

/** Rows kept while Postgres is unreachable; beyond this the oldest are dropped (and counted in a warning). */
const MAX_PENDING = 50_000;
/** How long a row waits for others to share its INSERT, and how many make a write go at once. */
const LINGER_MS = 20;
const MAX_BATCH = 500;
const RETRY_MS = 1000;

/**
 * Writes audit rows in groups: a row waits up to LINGER_MS for others, and one INSERT
 * carries them all (a Postgres round trip per request was the API's largest cost per intake
 * after the workflow start itself, see BENCHMARKS.md). Rows a failed write held are kept and
 * retried, so a Postgres outage delays the audit log instead of losing it. What a crash can
 * lose is what the last LINGER_MS had not yet written; a stop writes everything out first.
 */
export class AuditWriter {
  private pending: AuditRow[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private dropped = 0;

  constructor(private readonly pool: Pool, private readonly log: Logger, private readonly lingerMs = LINGER_MS) {}

  add(row: AuditRow): void {
    this.pending.push(row);
    if (this.pending.length > MAX_PENDING) {
      this.dropped += this.pending.length - MAX_PENDING;
      this.pending.splice(0, this.pending.length - MAX_PENDING);
    }
    if (this.inFlight) return;
    if (this.pending.length >= MAX_BATCH && !this.failing) this.kick();
    else this.schedule(this.lingerMs);
  }

  /** Write whatever is pending (one attempt), for shutdown. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (this.inFlight) await this.inFlight;
    this.clearTimer();
    if (this.pending.length > 0) await (this.inFlight = this.write(false));
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.kick(), ms);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private kick(): void {
    this.clearTimer();
    if (!this.inFlight && this.pending.length > 0) this.inFlight = this.write();
  }

  private async write(retry = true): Promise<void> {
    const batch = this.pending.splice(0, MAX_BATCH);
    let ok = false;
    try {
      await this.pool.query(
        `INSERT INTO audit_log (at, key_id, role, method, path, case_id, status, kind, client_aborted)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::boolean[])`,
        [batch.map((r) => r.at), batch.map((r) => r.keyId), batch.map((r) => r.role), batch.map((r) => r.method),
          batch.map((r) => r.path), batch.map((r) => r.caseId), batch.map((r) => r.status), batch.map((r) => r.kind ?? 'write'),
          batch.map((r) => r.clientAborted ?? false)]);
      ok = true;
      if (this.failing || this.dropped > 0) {
        this.log.info({ rows: batch.length, dropped: this.dropped }, 'audit writes resumed');
        this.failing = false;
        this.dropped = 0;
      }
    } catch (err) {
      this.pending = batch.concat(this.pending);
      if (!this.failing) this.log.warn({ err: (err as Error).message, rows: this.pending.length }, 'audit write failed; keeping the rows and retrying');
      this.failing = true;
    } finally {
      this.inFlight = null;
    }
    if (retry && this.pending.length > 0) {
      if (!ok) this.schedule(RETRY_MS);
      else if (this.pending.length >= MAX_BATCH) this.kick();
      else this.schedule(this.lingerMs);
    }
  }
}

/** Statuses the guards in front of the routes answer with (body limit, media type, rate limit, malformed JSON). */
const REFUSALS = new Set([400, 413, 415, 429]);

/**
 * The append-only audit log: every state-changing request, every read of personal data (routes
 * declared `personalData`), and every request the guards refuse before a route runs, whoever
 * made it and however it ended. Mounted before those guards, so none of them can skip it.
 *
 * A row is written once the answer is settled: when the response finishes or, if the client
 * went away first, when the handler ends it anyway (its work is done, only the answer is
 * lost): `clientAborted`. A client that leaves before the handler ends is not a way around it.
 */
export function auditMiddleware(writer: AuditWriter): RequestHandler {
  return (req, res, next) => {
    const at = new Date();
    const write = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    let recorded = false;
    let closedEarly = false;
    const record = (clientAborted: boolean) => {
      if (recorded) return;
      const p = res.locals.principal as Principal | undefined;
      const routed = res.locals.route !== undefined;
      const kind: AuditKind | null = !routed && REFUSALS.has(res.statusCode) ? 'refused'
        : res.locals.personalData ? 'read' : write ? 'write' : null;
      recorded = true;
      if (!kind) return;
      writer.add({
        at, keyId: p?.keyId ?? null, role: p?.role ?? null, method: req.method, path: redactPath(req.path),
        caseId: (res.locals.caseId as string | undefined) ?? null, status: res.statusCode, kind, clientAborted,
      });
    };
    res.on('finish', () => record(false));
    res.on('close', () => {
      if (res.writableEnded) record(!res.writableFinished);
      else closedEarly = true;
    });
    // The client is gone but the handler is still at work: record when it answers into the void.
    const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
    res.end = ((...args: unknown[]) => {
      const result = end(...args);
      if (closedEarly) record(true);
      return result;
    }) as typeof res.end;
    next();
  };
}
