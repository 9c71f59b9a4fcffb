import type { RequestHandler } from 'express';
import type { Pool } from 'pg';
import { GroupWriter } from '../db/groupWriter';
import type { Logger } from '../logger';
import type { Principal } from './auth';
import { redactPath } from './redact';

export type AuditKind = 'write' | 'read' | 'refused';

interface AuditRow {
  at: Date; keyId: string | null; role: string | null; method: string; path: string; caseId: string | null; status: number;
  kind?: AuditKind; clientAborted?: boolean;
}

/**
 * The audit rows, written in groups after the answer (src/db/groupWriter.ts): a row waits up to
 * 50 ms for others and one INSERT carries up to 500. Rows a failed write held are kept and
 * retried, so a Postgres outage delays the audit log instead of losing it (beyond 50,000 held
 * rows the oldest are dropped, counted in a warning). What a crash can lose is what the last
 * 50 ms had not yet written; a stop writes everything out first.
 */
export class AuditWriter {
  private readonly rows: GroupWriter<AuditRow>;

  constructor(pool: Pool, log: Logger, lingerMs = 50) {
    this.rows = new GroupWriter<AuditRow>({
      what: 'audit', lingerMs, maxBatch: 500, retryMs: 1000, maxPending: 50_000, overflow: 'drop-oldest', log,
      write: async (batch) => {
        await pool.query(
          `INSERT INTO audit_log (at, key_id, role, method, path, case_id, status, kind, client_aborted)
           SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::boolean[])`,
          [batch.map((r) => r.at), batch.map((r) => r.keyId), batch.map((r) => r.role), batch.map((r) => r.method),
            batch.map((r) => r.path), batch.map((r) => r.caseId), batch.map((r) => r.status), batch.map((r) => r.kind ?? 'write'),
            batch.map((r) => r.clientAborted ?? false)]);
      },
    });
  }

  add(row: AuditRow): void {
    this.rows.add(row);
  }

  /** Write whatever is pending, for shutdown. */
  flush(): Promise<void> {
    return this.rows.flush();
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
