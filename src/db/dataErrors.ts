/**
 * Data Postgres will never accept. Retrying such a write cannot succeed, so the read-model
 * activity gives up on it at once (non-retryable) instead of holding the case for ever.
 */
import type { CaseEventBatch } from '../domain/caseEvents';

/** SQLSTATE class 22, "data exception": a value out of range, an unsupported Unicode escape, a bad date... */
export function isPostgresDataError(err: unknown): err is { code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/** Refused before it reached Postgres; carries the SQLSTATE Postgres would have answered. */
export class ReadModelDataError extends Error {
  override readonly name = 'ReadModelDataError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** What timestamptz holds, and what every deadline, event time and case time must stay inside. */
const TIMESTAMP_RANGE = [Date.parse('0001-01-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')] as const;

function checkInstant(what: string, value: unknown): void {
  if (value === null || value === undefined) return;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!(ms >= TIMESTAMP_RANGE[0] && ms <= TIMESTAMP_RANGE[1])) {
    // 22008 datetime_field_overflow: what Postgres answers for a year past 9999
    throw new ReadModelDataError('22008', `${what} ${JSON.stringify(value)} is not an instant between the years 1 and 9999`);
  }
}

/** Every instant of a batch in range, before anything is written (a deadline past 9999 is refused here, not by a cast). */
export function checkBatchInstants(batch: CaseEventBatch): void {
  const s = batch.snapshot;
  for (const [kind, due] of Object.entries(s.deadlines ?? {})) if (typeof due === 'string') checkInstant(`deadline ${kind}`, due);
  checkInstant('createdAt', s.createdAt);
  checkInstant('acknowledgedAt', s.acknowledgedAt);
  checkInstant('completedAt', s.completedAt);
  checkInstant('closedAt', s.closedAt);
  for (const e of batch.events) checkInstant(`event ${e.seq} at`, e.at);
}
