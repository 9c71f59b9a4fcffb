/**
 * The workflow test bed every case type shares: the Java time-skipping test server (with
 * the case search attributes registered), one worker on the run's shared workflow bundle
 * running the fake activities the caller passes, and cases started by
 * `startCaseWorkflow`, the same function the API's intake routes use.
 *
 * Each case type's support file (support.ts for resident requests, registrationTestBed.ts)
 * adds its in-memory world and the people who act on the case.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker } from '@temporalio/worker';
import type { CaseActivities } from '../../src/activities';
import type { CaseWorkflow, CaseWorkflowInputs } from '../../src/domain/caseTypes';
import { CASE_SEARCH_ATTRIBUTES } from '../../src/domain/searchAttributes';
import type { CaseType } from '../../src/domain/vocabulary';
import { startCaseWorkflow } from '../../src/temporal/startCase';
import { caseRuns } from '../support/caseRuns';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A case a test opened: ended by `finishCases` so its timers cannot fire while a later test skips time. */
export interface OpenedCase {
  closeIfOpen(): Promise<void>;
  readonly handle: WorkflowHandle;
  /** Set when the history should be written (RECORD_HISTORIES=1) once the case has ended. */
  historyName?: string;
}

export interface CaseTestBed {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  /** Move workflow time forward; timers due meanwhile fire in order. */
  advance(ms: number): Promise<void>;
  /** Start a case as the API does (startCaseWorkflow). */
  start<T extends CaseType>(type: T, input: CaseWorkflowInputs[T]): Promise<WorkflowHandle<CaseWorkflow<T>>>;
  /** Remember a case to end after the test (and to write its history when asked). */
  track<C extends OpenedCase>(c: C): C;
  /** End what a test left open (call it in afterEach); `beforeClose` lets go of held activities first. */
  finishCases(): Promise<void>;
  stop(): Promise<void>;
  now(): Promise<number>;
}

let runtimeInstalled = false;

/** `activities`: the fakes this file's cases use (any subset of the real activities). */
export async function startCaseTestBed(
  activities: Partial<CaseActivities>, opts: { beforeClose?: () => void; serverPath?: string } = {},
): Promise<CaseTestBed> {
  if (!runtimeInstalled) {
    try {
      Runtime.install({
        logger: quietLogger as never,
        // The test server lacks capabilities core warns about on every worker start; keep errors only.
        telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
      });
    } catch { /* installed already by another bed in this process */ }
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: opts.serverPath ?? requiredEnv('TEMPORAL_TEST_SERVER_PATH') } },
  });
  await registerCaseSearchAttributes(env);
  const taskQueue = `workflow-tests-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection, taskQueue,
    workflowBundle: { codePath: requiredEnv('TEST_WORKFLOW_BUNDLE') },
    activities,
  });
  const running = worker.run();
  let opened: OpenedCase[] = [];

  const finishCases = async () => {
    opts.beforeClose?.();
    const cases = opened;
    opened = [];
    for (const c of cases) {
      await c.closeIfOpen();
      if (c.historyName) await writeCaseHistories(env, c.historyName, c.handle.workflowId);
    }
  };

  return {
    env, taskQueue,
    advance: (ms) => env.sleep(ms),
    start: (type, input) => startCaseWorkflow(env.client, type, input, { taskQueue }),
    track(c) { opened.push(c); return c; },
    finishCases,
    now: () => env.currentTimeMs(),
    async stop() {
      await finishCases();
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/**
 * The Java test server knows no custom search attributes and rejects a workflow that sets
 * one ("search attribute CaseType is not defined"). It implements the operator service's
 * AddSearchAttributes (though not List), so we register ours the way production does
 * (`temporal operator search-attribute create`), from the same table the dev server uses.
 */
async function registerCaseSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const { IndexedValueType } = temporal.api.enums.v1;
  const typeOf = { Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL } as const;
  const searchAttributes = Object.fromEntries(
    Object.entries(CASE_SEARCH_ATTRIBUTES).map(([name, type]) => [name, typeOf[type]]),
  );
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
}

/**
 * Cancel-or-terminate for cases that end by an update: run `cancel`, wait for the workflow
 * to end, terminate only a run that does not. Not `terminate()` first: the Java test server
 * leaks its time-skipping lock when a run is terminated with a workflow task or activity in
 * flight (temporalio/sdk-java#1138, #3088), and every later `env.sleep()` then hangs.
 */
export async function closeCase(handle: WorkflowHandle, cancel: () => Promise<unknown>): Promise<void> {
  await cancel().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    handle.result().then(() => true, () => true),
    new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), 10_000); }),
  ]);
  clearTimeout(timer);
  if (!ended) await handle.terminate('did not end after cancellation').catch(() => undefined);
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run workflow tests through jest, whose globalSetup provides it`);
  return value;
}

const quietLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (msg: string) => console.warn(msg), error: (msg: string) => console.error(msg),
};

// ---------------------------------------------------------------------------------------
// Recording histories for the replay tests (tests/replay/replay.test.ts explains).
// ---------------------------------------------------------------------------------------

export const HISTORIES_DIR = join(__dirname, '..', 'replay', 'histories');

/**
 * With RECORD_HISTORIES=1, write the case's history to tests/replay/histories/<name>.json
 * when the test is over (a case the test left open is closed first, so every committed
 * history runs to the workflow's end).
 */
export function recordHistoryIfAsked(name: string, c: OpenedCase): void {
  if (process.env.RECORD_HISTORIES === '1') c.historyName = name;
}

/**
 * A case that ran once is written as <name>.json; one that continued as new as its first
 * run (ends continuing), its second run (starts from a carried state, ends continuing
 * again) and its last run (ends the case): <name>-first-run.json, -second-run, -last-run.
 */
export async function writeCaseHistories(env: TestWorkflowEnvironment, name: string, workflowId: string): Promise<void> {
  const runs = await caseRuns(env.client, workflowId);
  const fetch = (runId: string) => env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  if (runs.length === 1) return writeHistoryFile(name, await fetch(runs[0].runId));
  await writeHistoryFile(`${name}-first-run`, await fetch(runs[0].runId));
  if (runs.length > 2) await writeHistoryFile(`${name}-second-run`, await fetch(runs[1].runId));
  await writeHistoryFile(`${name}-last-run`, await fetch(runs[runs.length - 1].runId));
}

/** Write one workflow history as tests/replay/histories/<name>.json. */
export async function writeHistoryFile(name: string, history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): Promise<void> {
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}
