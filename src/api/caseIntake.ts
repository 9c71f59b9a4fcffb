/** What the routes of every case type share: who acted, and idempotent intake. */
import { createHash, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Principal } from './auth';
import { badRequest, conflict } from './problem';

/** The actor recorded in a case's timeline: `<role>:<key id>`. */
export const actorOf = (p: Principal): string => `${p.role}:${p.keyId}`;

/**
 * Idempotent intake: the first request with a key reserves a case id; a repeat with the
 * same body gets that case back, with another body a 409. The reservation is made before
 * the workflow starts, so a crash in between is healed by the client's retry.
 */
export async function reserveCaseId(pool: Pool, p: Principal, idempotencyKey: string | undefined, body: unknown): Promise<{ caseId: string; repeat: boolean }> {
  const caseId = randomUUID();
  if (idempotencyKey === undefined) return { caseId, repeat: false };
  if (!/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
    throw badRequest('invalid Idempotency-Key', [{ path: 'header.Idempotency-Key', message: 'must be 1-200 visible ASCII characters' }]);
  }
  const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const { rows } = await pool.query<{ case_id: string; request_hash: string }>(
    `WITH ins AS (
       INSERT INTO idempotency_keys (key_id, idempotency_key, request_hash, case_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING case_id, request_hash)
     SELECT case_id, request_hash, true AS inserted FROM ins
     UNION ALL
     SELECT case_id, request_hash, false FROM idempotency_keys WHERE key_id = $1 AND idempotency_key = $2`,
    [p.keyId, idempotencyKey, requestHash, caseId]);
  const row = rows[0];
  if (row.request_hash !== requestHash) {
    throw conflict('this Idempotency-Key was already used with a different request body', { caseId: row.case_id });
  }
  return { caseId: row.case_id, repeat: row.case_id !== caseId };
}
