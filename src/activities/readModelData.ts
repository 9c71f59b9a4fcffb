/**
 * A read-model batch Postgres will never take (a value out of range, text jsonb cannot hold):
 * retrying it would hold the case for ever and keep reconciliation calling it "busy". It is
 * failed at once as non-retryable, counted, and left in `read_model_rejections` so that
 * `npm run reconcile` reports the case until its events are stored.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { isPostgresDataError } from '../db/dataErrors';
import { recordRejection } from '../db/readModelRejections';
import { type CaseEventBatch, READ_MODEL_DATA_ERROR } from '../domain/caseEvents';
import { countReadModelRejection } from './domainMetrics';

export { READ_MODEL_DATA_ERROR };

/** The error to throw for a failed write: a non-retryable failure for a data error, else `err` itself (retried). */
export async function refuseUnstorableBatch(pool: Pool, batch: CaseEventBatch, err: unknown): Promise<unknown> {
  if (!isPostgresDataError(err)) return err;
  const first = batch.events[0]?.seq ?? 0;
  const last = batch.events[batch.events.length - 1]?.seq ?? 0;
  countReadModelRejection(batch.snapshot.type, err.code);
  // Best effort: the failure itself (in the workflow's history) is the record that must not be lost.
  await recordRejection(pool, { caseId: batch.snapshot.id, community: batch.snapshot.community, firstSeq: first, lastSeq: last, sqlstate: err.code, message: err.message })
    .catch(() => undefined);
  return ApplicationFailure.nonRetryable(
    `Postgres refused events ${first}..${last} of case ${batch.snapshot.id} (SQLSTATE ${err.code}): ${err.message}`,
    READ_MODEL_DATA_ERROR, { caseId: batch.snapshot.id, firstSeq: first, lastSeq: last, sqlstate: err.code });
}
