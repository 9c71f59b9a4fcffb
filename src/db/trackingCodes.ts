/**
 * Tracking codes (table tracking_codes) and the read-model facts a resident may see by one:
 * status, the timeline's event types and times, open deadlines, the serving partner's name.
 * Nothing here reads a case's details (resident, applicants, description, notes).
 */
import type { Pool } from 'pg';
import { newTrackingCode } from '../intake/trackingCode';
import type { Logger } from '../logger';
import { GroupWriter } from './groupWriter';

/**
 * The codes of a group of intakes in one statement: each case gets a new random code, or
 * keeps the one it has (a repeated, idempotent intake gets the same code). The SELECT half
 * reads the statement's snapshot, taken before the INSERT: a case either got its new code
 * (first half) or had one already (second half). A case in neither (a lost race with a
 * concurrent intake of the same case in another process, or a random code already taken,
 * 60 random bits) goes again with a fresh code.
 */
const ISSUE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(code, case_id, case_type)
), ins AS (
  INSERT INTO tracking_codes (code, case_id, case_type) SELECT code, case_id, case_type FROM input
  ON CONFLICT DO NOTHING RETURNING case_id, code
)
SELECT case_id, code FROM ins
UNION ALL
SELECT case_id, code FROM tracking_codes WHERE case_id = ANY ($2::text[])`;

/** Attempts per case before its intake fails (each with a new random code). */
const ATTEMPTS = 5;
/** Cases per statement. */
const MAX_BATCH = 500;

interface Waiting { caseType: string; attempts: number; preferred?: string; waiters: { resolve: (code: string) => void; reject: (err: unknown) => void }[] }

/**
 * Group commit for intake: while one statement is on its way to Postgres, the intakes that
 * ask meanwhile wait for it to come back and then go together in the next one. The first
 * intake after a quiet spell goes at once (no added wait); under load a single round trip
 * carries many (a Postgres round trip is the largest CPU cost an intake has after the
 * workflow start, see BENCHMARKS.md). Each intake still answers only once its code is
 * committed, so a code handed out always tracks.
 */
class TrackingCodeIssuer {
  private readonly waiting = new Map<string, Waiting>();
  private sending = false;

  constructor(private readonly pool: Pool) {}

  issue(caseId: string, caseType: string, preferred?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let entry = this.waiting.get(caseId);
      if (!entry) this.waiting.set(caseId, (entry = { caseType, attempts: 0, preferred, waiters: [] }));
      entry.waiters.push({ resolve, reject });
      if (this.sending) return;
      this.sending = true;
      // After the current task's other intakes (if any) have asked too; no timer, no added wait.
      queueMicrotask(() => void this.send());
    });
  }

  private async send(): Promise<void> {
    try {
      while (this.waiting.size > 0) {
        const batch: [string, Waiting][] = [];
        for (const item of this.waiting) {
          batch.push(item);
          if (batch.length >= MAX_BATCH) break;
        }
        for (const [caseId] of batch) this.waiting.delete(caseId);
        let rows: { case_id: string; code: string }[];
        try {
          // Not a named statement: the embedded Postgres of `npm start` and the tests (PGlite behind
          // one socket) shares one session among the pool's connections, where a second PREPARE fails.
          ({ rows } = await this.pool.query<{ case_id: string; code: string }>(ISSUE_SQL, [
            batch.map(([, w]) => (w.attempts === 0 && w.preferred) || newTrackingCode()), batch.map(([caseId]) => caseId), batch.map(([, w]) => w.caseType),
          ]));
        } catch (err) {
          for (const [, w] of batch) for (const waiter of w.waiters) waiter.reject(err);
          continue;
        }
        const codes = new Map(rows.map((r) => [r.case_id, r.code]));
        for (const [caseId, w] of batch) {
          const code = codes.get(caseId);
          if (code !== undefined) {
            for (const waiter of w.waiters) waiter.resolve(code);
          } else if (++w.attempts >= ATTEMPTS) {
            for (const waiter of w.waiters) waiter.reject(new Error(`could not issue a tracking code for case ${caseId}`));
          } else {
            // Try again with a new code; intakes of the same case that came meanwhile join it.
            const later = this.waiting.get(caseId);
            this.waiting.set(caseId, later ? { ...w, waiters: [...w.waiters, ...later.waiters] } : w);
          }
        }
      }
    } finally {
      this.sending = false;
    }
  }
}

const issuers = new WeakMap<Pool, TrackingCodeIssuer>();

/**
 * The case's tracking code: a new random one, or the one it already has (a repeated,
 * idempotent intake gets the same code). Any case type, by id and type. Concurrent intakes
 * through the same pool share a statement (TrackingCodeIssuer).
 */
export function issueTrackingCode(pool: Pool, caseId: string, caseType: string, preferred?: string): Promise<string> {
  let issuer = issuers.get(pool);
  if (!issuer) issuers.set(pool, (issuer = new TrackingCodeIssuer(pool)));
  return issuer.issue(caseId, caseType, preferred);
}

interface CodeRow { code: string; caseId: string; caseType: string }

/**
 * New codes in one statement; it answers the cases whose code is not stored: neither inserted
 * now nor there already (the worker's first batch may have stored the same code first), i.e. a
 * 60-bit collision with another case's code. The last SELECT reads the snapshot from before
 * the INSERT, which is why the inserted ones are taken out through `ins`.
 */
const WRITE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS t(code, case_id, case_type)
), ins AS (
  INSERT INTO tracking_codes (code, case_id, case_type) SELECT code, case_id, case_type FROM input
  ON CONFLICT DO NOTHING RETURNING code
)
SELECT i.case_id FROM input i LEFT JOIN tracking_codes t ON t.case_id = i.case_id
WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.code = i.code) AND t.code IS DISTINCT FROM i.code`;

/**
 * The codes of new cases, written in groups after the answer (src/db/groupWriter.ts: up to
 * 100 ms, up to 500 per INSERT); a Postgres round trip per intake was the largest cost the API
 * added to a case's start (BENCHMARKS.md, issue 17). A code is safe before it is written: it
 * travels in the case's workflow memo (`trackingCode`), so a repeated intake answers it again,
 * and the worker stores it with the case's first read-model batch if this process died before
 * it did (src/db/readModel.ts). A lookup of a code this process still holds writes it first
 * (read-your-writes within one API process; another process sees it within 100 ms). While
 * writes fail the codes are kept and retried, and `failing` makes intake answer 503 rather
 * than hand out more codes that do not resolve yet.
 */
export class TrackingCodeWriter {
  private readonly rows: GroupWriter<CodeRow>;

  constructor(pool: Pool, log?: Logger, lingerMs = 100) {
    this.rows = new GroupWriter<CodeRow>({
      what: 'tracking code', lingerMs, maxBatch: 500, retryMs: 1000, maxPending: 50_000, overflow: 'refuse', log,
      write: async (batch) => {
        const { rows: lost } = await pool.query<{ case_id: string }>(WRITE_SQL,
          [batch.map((r) => r.code), batch.map((r) => r.caseId), batch.map((r) => r.caseType)]);
        if (lost.length > 0) log?.error({ cases: lost.map((r) => r.case_id) }, 'tracking codes not stored: taken by another case');
      },
    });
  }

  get failing(): boolean {
    return this.rows.failing;
  }

  add(row: CodeRow): void {
    this.rows.add(row);
  }

  /** Whether `code` is one this process has handed out and not yet written. */
  holds(code: string): boolean {
    return this.rows.holds((r) => r.code === code);
  }

  flush(): Promise<void> {
    return this.rows.flush();
  }
}

const writers = new WeakMap<Pool, TrackingCodeWriter>();

/** This process's writer of new codes for `pool` (one per pool; the logger of its first caller). */
export function trackingCodeWriter(pool: Pool, log?: Logger): TrackingCodeWriter {
  let writer = writers.get(pool);
  if (!writer) writers.set(pool, (writer = new TrackingCodeWriter(pool, log)));
  return writer;
}

/** Codes for many cases at once (an import): cases that have a code keep it, the others get one in one statement. */
export async function issueTrackingCodes(pool: Pool, caseIds: string[], caseType: string): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  const found = async (ids: string[]) => {
    const { rows } = await pool.query<{ case_id: string; code: string }>(
      'SELECT case_id, code FROM tracking_codes WHERE case_id = ANY ($1::text[])', [ids]);
    for (const r of rows) codes.set(r.case_id, r.code);
  };
  await found(caseIds);
  for (let attempt = 0; attempt < 5 && codes.size < caseIds.length; attempt++) {
    const missing = caseIds.filter((id) => !codes.has(id));
    await pool.query(
      `INSERT INTO tracking_codes (code, case_id, case_type)
       SELECT t.code, t.case_id, $3::text FROM unnest($1::text[], $2::text[]) AS t(code, case_id)
       ON CONFLICT DO NOTHING`, [missing.map(() => newTrackingCode()), missing, caseType]);
    await found(missing);
  }
  return codes;
}

export interface TrackedCase {
  caseId: string;
  caseType: string;
  codeIssuedAt: Date;
  /** Null until the worker has written the case's first snapshot. */
  status: string | null;
  partnerName: string | null;
  steps: { type: string; at: Date }[];
  /** Open deadlines, soonest first. */
  deadlines: { kind: string; dueAt: Date }[];
}

export async function trackedCase(pool: Pool, code: string): Promise<TrackedCase | null> {
  const writer = writers.get(pool);
  if (writer?.holds(code)) await writer.flush();
  const { rows } = await pool.query(
    `SELECT t.case_id, t.case_type, t.created_at, c.status, p.name AS partner_name,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('type', e.type, 'at', e.at) ORDER BY e.seq), '[]')
          FROM case_events e WHERE e.case_id = t.case_id) AS steps,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', d.kind, 'dueAt', d.due_at) ORDER BY d.due_at), '[]')
          FROM case_deadlines d WHERE d.case_id = t.case_id) AS deadlines
     FROM tracking_codes t
     LEFT JOIN cases c ON c.id = t.case_id
     LEFT JOIN partners p ON p.id = c.partner_id
     WHERE t.code = $1`, [code]);
  const r = rows[0];
  if (!r) return null;
  return {
    caseId: r.case_id, caseType: r.case_type, codeIssuedAt: r.created_at, status: r.status, partnerName: r.partner_name,
    steps: (r.steps as { type: string; at: string }[]).map((s) => ({ type: s.type, at: new Date(s.at) })),
    deadlines: (r.deadlines as { kind: string; dueAt: string }[]).map((d) => ({ kind: d.kind, dueAt: new Date(d.dueAt) })),
  };
}
