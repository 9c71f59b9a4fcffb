/** What the routes of every case type share: who acted, and idempotent intake. */
import { createHash, randomUUID } from 'node:crypto';
import { type Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { type CaseWorkflowInputs, caseWorkflowId } from '../domain/caseTypes';
import type { CaseType } from '../domain/vocabulary';
import { startCaseWorkflow } from '../temporal/startCase';
import type { Config } from '../config';
import type { Principal } from './auth';
import type { IntakeMemo } from './routing';
import { badRequest, conflict } from './problem';
import { isAlreadyStarted } from './workflowCalls';

/** The input field that makes a case continue as new earlier than Temporal suggests (config CASE_CONTINUE_AS_NEW_AFTER_EVENTS). */
export const continueAsNewAfter = (config: Config): { continueAsNewAfterEvents?: number } =>
  (config.CASE_CONTINUE_AS_NEW_AFTER_EVENTS ? { continueAsNewAfterEvents: config.CASE_CONTINUE_AS_NEW_AFTER_EVENTS } : {});

/** The actor recorded in a case's timeline: `<role>:<key id>`. */
export const actorOf = (p: Principal): string => `${p.role}:${p.keyId}`;

/** Memo field holding the SHA-256 of the request that opened a case under an Idempotency-Key. */
const REQUEST_HASH_MEMO = 'intakeRequestHash';

export interface CaseIntake {
  caseId: string;
  /** SHA-256 of the body when the request carries an Idempotency-Key, else null. */
  requestHash: string | null;
}

/**
 * The case id of a new case. Without an `Idempotency-Key` a random UUID; with one, a UUID
 * derived from the case type, the API key and the Idempotency-Key, so every retry of a request names the
 * same case, and so the same workflow id: Temporal itself then refuses a second case (the
 * workflow id is the idempotency key, kept for the namespace's retention period).
 */
export function caseIntake(caseType: CaseType, p: Principal, idempotencyKey: string | undefined, body: unknown): CaseIntake {
  if (idempotencyKey === undefined) return { caseId: randomUUID(), requestHash: null };
  if (!/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
    throw badRequest('invalid Idempotency-Key', [{ path: 'header.Idempotency-Key', message: 'must be 1-200 visible ASCII characters' }]);
  }
  const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  // The case type is part of the name: case ids are unique across types (the read model's key),
  // so one Idempotency-Key sent to both intake endpoints names two cases, not one id twice.
  return { caseId: derivedUuid(`gongjian intake\0${caseType}\0${p.keyId}\0${idempotencyKey}`), requestHash };
}

/** A name-based UUID (RFC 9562 version 8: the first 128 bits of SHA-256, version and variant bits set). */
function derivedUuid(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Start the case's workflow (one workflow per case id, ever, within retention). A repeat of
 * an earlier request (same API key and Idempotency-Key) finds the workflow started: with
 * the same body it is that case again (`repeat: true`, answered 200), with another body a
 * 409 naming the case. One gRPC call for a new case; no database round trip. `intakeMemo`
 * (HandlerContext) adds to the memo, and hears a repeat's memo.
 */
export async function startCase<T extends CaseType>(
  temporal: Client, type: T, input: CaseWorkflowInputs[T], taskQueue: string, intake: CaseIntake,
  intakeMemo?: IntakeMemo,
): Promise<{ repeat: boolean }> {
  const memo = { ...intakeMemo?.add(intake.caseId), ...(intake.requestHash ? { [REQUEST_HASH_MEMO]: intake.requestHash } : {}) };
  try {
    await startCaseWorkflow(temporal, type, input, {
      taskQueue,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      ...(Object.keys(memo).length > 0 ? { memo } : {}),
    });
    return { repeat: false };
  } catch (err) {
    if (!isAlreadyStarted(err) || intake.requestHash === null) throw err;
  }
  const started = await temporal.workflow.getHandle(caseWorkflowId(type, intake.caseId)).describe();
  if (started.memo?.[REQUEST_HASH_MEMO] !== intake.requestHash) {
    throw conflict('this Idempotency-Key was already used with a different request body', { caseId: intake.caseId });
  }
  intakeMemo?.found(started.memo);
  return { repeat: true };
}
