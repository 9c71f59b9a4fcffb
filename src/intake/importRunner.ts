/**
 * Opens the cases of a needs list in the background, through the very handler of
 * POST /v1/service-requests (so SLA, workflow start and tracking code are the same as one by
 * one), each row under an Idempotency-Key derived from the file and the row: a resumed or
 * re-posted import names the same cases, and Temporal refuses to open any of them twice.
 */
import type { Request, Response } from 'express';
import type { Pool } from 'pg';
import type { Principal } from '../api/auth';
import { caseIntake } from '../api/caseIntake';
import type { ApiRoutes } from '../api/routing';
import { recordImportProgress } from '../db/imports';
import { issueTrackingCodes } from '../db/trackingCodes';
import type { Logger } from '../logger';
import type { ServiceRequestBody } from './needsList';
import { handlerWithoutTrackingCode } from './trackingIntake';

export const rowIdempotencyKey = (fileHash: string, row: number) => `import-${fileHash.slice(0, 48)}-row-${row}`;

/** The case ids of a needs list, known before any case opens (the derived ids of caseIntake). */
export const importCaseIds = (p: Principal, fileHash: string, rows: { row: number; body: ServiceRequestBody }[]) =>
  rows.map((r) => caseIntake('service_request', p, rowIdempotencyKey(fileHash, r.row), r.body).caseId);

/**
 * What the intake handler reads of its request, for a call made from inside the process: the
 * headers (by any of Express's accessors), nothing else.
 */
export function intakeRequest(headers: Record<string, string>): Request {
  const header = (name: string) => headers[name.toLowerCase()];
  return { headers, header, get: header } as unknown as Request;
}

/** Imports this process is running now, so a re-post while it runs does not start a second runner. */
export const runningHere = new Set<string>();

/** How many opened cases get their tracking codes in one statement, at most (also at each progress write). */
const CODE_BATCH = 200;

export async function runNeedsListImport(opts: {
  routes: ApiRoutes; pool: Pool; log: Logger; importId: string; principal: Principal; fileHash: string;
  rows: ({ row: number; body: ServiceRequestBody } | null)[]; concurrency: number;
}): Promise<void> {
  const { routes, pool, log, importId, principal, fileHash, rows } = opts;
  const intake = routes.routes.find((r) => r.method === 'post' && r.path === '/v1/service-requests');
  if (!intake) throw new Error('POST /v1/service-requests is not declared');
  // The route's own handler (SLA, workflow start, idempotency); the codes are issued below, many per statement.
  const open = handlerWithoutTrackingCode(intake);
  runningHere.add(importId);
  let created = 0;
  let next = 0;
  let lastWrite = Date.now();
  let failure: Error | null = null;
  /** Cases opened whose tracking code is not issued yet. */
  let uncoded: string[] = [];
  let coding: Promise<void> = Promise.resolve();
  /** Issue the pending codes: one batch at a time, in order; a batch that fails goes back to the queue. */
  const issueCodes = (): Promise<void> => {
    const ids = uncoded;
    uncoded = [];
    if (ids.length === 0) return coding;
    coding = coding.catch(() => undefined).then(() => issueTrackingCodes(pool, ids, 'service_request').then(() => undefined, (err) => {
      uncoded.push(...ids);
      throw err;
    }));
    return coding;
  };
  const worker = async () => {
    while (failure === null && next < rows.length) {
      const i = next++;
      const { row, body } = rows[i]!;
      rows[i] = null; // done with it: the import holds only the rows still to open
      const req = intakeRequest({ 'idempotency-key': rowIdempotencyKey(fileHash, row) });
      let caseId: string;
      try {
        const reply = await open({ body, query: undefined, params: undefined, principal, req, res: {} as Response });
        caseId = reply.caseId ?? (reply.body as { id: string }).id;
      } catch (err) {
        failure = new Error(`row ${row}: ${(err as Error).message}`);
        return;
      }
      created++;
      uncoded.push(caseId);
      if (uncoded.length >= CODE_BATCH) void issueCodes().catch(() => undefined);
      if (Date.now() - lastWrite > 1000) {
        lastWrite = Date.now();
        const count = created;
        // Progress counts cases whose codes are issued too (the batch before this write).
        await issueCodes().then(() => recordImportProgress(pool, importId, count)).catch(() => undefined);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, rows.length) }, worker));
    // Every opened case has its code before `done` is written (a batch that failed is tried again here).
    await coding.catch(() => undefined);
    await issueCodes();
    if (failure) {
      log.warn({ importId, err: (failure as Error).message }, 'import stopped; post the same file again to resume');
      await recordImportProgress(pool, importId, created, 'failed', (failure as Error).message);
    } else {
      await recordImportProgress(pool, importId, created, 'done');
    }
  } catch (err) {
    log.error({ importId, err: { message: (err as Error).message } }, 'import bookkeeping failed');
  } finally {
    runningHere.delete(importId);
  }
}
