/**
 * Support for workflow tests: the Java time-skipping test server (with the case search
 * attributes registered), one worker on the run's shared workflow bundle, and an
 * in-memory stand-in for the activities: a partner directory that hands partners out in
 * order, partner endpoints that record every webhook (and can be told to fail), and a
 * read model that records the timeline. Each case gets its own `CaseWorld`, so the tests
 * of one file share a worker without seeing each other.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker } from '@temporalio/worker';
import type { CaseActivities, PartnerCandidate, PartnerSelectionCriteria, WebhookDelivery, WebhookResult } from '../../src/activities';
import type { CaseEvent, CaseEventBatch } from '../../src/domain/caseEvents';
import { parseIsoDuration } from '../../src/domain/duration';
import { CASE_SEARCH_ATTRIBUTES, SA } from '../../src/domain/searchAttributes';
import type { ServiceRequestIntake, ServiceRequestState, ServiceRequestWorkflowInput } from '../../src/domain/serviceRequest';
import { resolveServiceRequestSla, type SlaPolicy } from '../../src/domain/sla';
import * as m from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { RecordedCase } from './recordedCase';

type ServiceRequestWorkflow = (input: ServiceRequestWorkflowInput) => Promise<ServiceRequestState>;
type Handle = WorkflowHandle<ServiceRequestWorkflow>;

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * The SLA of the tests: the seed's urgent repair (an old man's power fails), pinned here so
 * the tests do not move when the shipped defaults do. Long spans cost nothing on the
 * time-skipping server, and they keep real seconds between test steps from firing timers.
 */
export const REPAIR_SLA: SlaPolicy = {
  caseType: 'service_request', category: 'housing', urgency: 'urgent',
  ackTimeout: 'PT30M', reminderAfter: 'PT10M', fulfilmentTimeout: 'PT24H',
  followUpAfter: 'P2D', surveyWindow: 'P7D', maxDispatchAttempts: 3,
};

// ---------------------------------------------------------------------------------------
// The in-memory world of one case: partner directory, partner endpoints, read model.
// ---------------------------------------------------------------------------------------

/** How a partner's webhook endpoint answers. */
export type EndpointBehaviour = 'deliver' | 'reject' | 'unavailable';

export interface WebhookAttempt {
  event: string;
  partnerId: string;
  orderId: string;
  deliveryId: string;
  attempt: number;
  deadline?: string;
  case: Record<string, unknown>;
  outcome: 'delivered' | 'rejected' | 'unavailable';
}

export class CaseWorld extends RecordedCase {
  readonly workflowId: string;
  /** Every webhook attempt, delivered or not. */
  readonly webhookAttempts: WebhookAttempt[] = [];
  readonly selections: PartnerSelectionCriteria[] = [];
  private readonly endpoints = new Map<string, EndpointBehaviour>();
  private readModelFailuresLeft = 0;
  private selectionGate: Promise<void> | null = null;
  private releaseSelection: (() => void) | null = null;

  constructor(readonly caseId: string, readonly partners: PartnerCandidate[]) {
    super();
    this.workflowId = m.serviceRequestWorkflowId(caseId);
  }

  // ---- configuring failures ----

  /** The partner's endpoint answers 4xx: permanent, not retried. */
  rejectWebhooksTo(partnerId: string): void { this.endpoints.set(partnerId, 'reject'); }
  /** The partner's endpoint answers 503 on every attempt: retried with backoff, then given up. */
  failWebhooksTo(partnerId: string): void { this.endpoints.set(partnerId, 'unavailable'); }
  /** The next `count` read-model writes fail (a Postgres outage). */
  failReadModelWrites(count: number): void { this.readModelFailuresLeft = count; }
  /** Partner selection waits until the returned function is called (to catch the case in `dispatching`). */
  holdPartnerSelection(): () => void {
    let release!: () => void;
    this.selectionGate = new Promise<void>((resolve) => { release = resolve; });
    this.releaseSelection = () => { this.selectionGate = null; this.releaseSelection = null; release(); };
    return this.releaseSelection;
  }

  /** Let go of anything held, so a failed test cannot leave an activity running (it would lock time skipping). */
  releaseHeld(): void { this.releaseSelection?.(); }

  // ---- reading what happened ----

  /** Webhooks that reached the partner: `event` names, oldest first. */
  delivered(partnerId: string): WebhookAttempt[] {
    return this.webhookAttempts.filter((w) => w.partnerId === partnerId && w.outcome === 'delivered');
  }
  deliveredEvents(partnerId: string): string[] { return this.delivered(partnerId).map((w) => w.event); }

  /** Wait for the `nth` (1-based) timeline event of a type whose data contains `data`. */
  waitForEvent(type: string, data: Record<string, unknown> = {}, nth = 1): Promise<CaseEvent> {
    return this.until(`${type} #${nth} ${JSON.stringify(data)}`, () =>
      this.timeline.filter((e) => e.type === type && matches(e.data, data))[nth - 1]);
  }

  // ---- the fake activities, per case ----

  async recordCaseEvents(batch: CaseEventBatch): Promise<void> {
    if (this.readModelFailuresLeft > 0) {
      this.readModelFailuresLeft -= 1;
      throw ApplicationFailure.retryable('connection to Postgres lost', 'ReadModelUnavailable');
    }
    this.record(batch);
  }

  async selectPartner(criteria: PartnerSelectionCriteria): Promise<PartnerCandidate | null> {
    this.selections.push(criteria);
    this.changed();
    if (this.selectionGate) await this.selectionGate;
    return this.partners.find((p) => !criteria.excludePartnerIds.includes(p.partnerId)) ?? null;
  }

  async deliverWebhook(d: WebhookDelivery): Promise<WebhookResult> {
    const { attempt } = Context.current().info;
    const behaviour = this.endpoints.get(d.partnerId) ?? 'deliver';
    const outcome = behaviour === 'deliver' ? 'delivered' : behaviour === 'reject' ? 'rejected' : 'unavailable';
    this.webhookAttempts.push({
      event: d.event, partnerId: d.partnerId, orderId: d.orderId, deliveryId: d.deliveryId, attempt,
      deadline: d.deadline, case: d.case, outcome,
    });
    this.changed();
    if (behaviour === 'reject') {
      throw ApplicationFailure.nonRetryable('partner answered HTTP 410', 'WebhookRejected', { httpStatus: 410, attempt });
    }
    if (behaviour === 'unavailable') {
      throw ApplicationFailure.retryable('partner answered HTTP 503', 'WebhookDeliveryFailed', { httpStatus: 503, attempt });
    }
    return { httpStatus: 200, attempt };
  }
}

function matches(data: Record<string, unknown>, expected: Record<string, unknown>): boolean {
  return Object.entries(expected).every(([k, v]) => JSON.stringify(data[k]) === JSON.stringify(v));
}

type ServiceRequestActivities = Pick<CaseActivities, 'recordCaseEvents' | 'selectPartner' | 'deliverWebhook'>;

/** The activities the worker runs: each call is routed to the world of its case. */
export class FakeCaseServices {
  private readonly worlds = new Map<string, CaseWorld>();

  open(partners: PartnerCandidate[]): CaseWorld {
    const world = new CaseWorld(randomUUID(), partners);
    this.worlds.set(world.caseId, world);
    return world;
  }

  releaseHeld(): void {
    for (const world of this.worlds.values()) world.releaseHeld();
  }

  private world(caseId: string): CaseWorld {
    const world = this.worlds.get(caseId);
    if (!world) throw ApplicationFailure.nonRetryable(`no test world for case ${caseId}`);
    return world;
  }

  readonly activities: ServiceRequestActivities = {
    recordCaseEvents: async (batch) => this.world(batch.snapshot.id).recordCaseEvents(batch),
    selectPartner: async (criteria) => this.world(criteria.caseId).selectPartner(criteria),
    deliverWebhook: async (delivery) => this.world(delivery.caseId).deliverWebhook(delivery),
  };
}

export const partner = (partnerId: string, name: string): PartnerCandidate => ({ partnerId, name, openOrders: 0 });

// ---------------------------------------------------------------------------------------
// The test server and worker.
// ---------------------------------------------------------------------------------------

export interface WorkflowTestBed {
  env: TestWorkflowEnvironment;
  services: FakeCaseServices;
  taskQueue: string;
  /** Move workflow time forward; timers due meanwhile fire in order. */
  advance(ms: number): Promise<void>;
  /**
   * End what a test left open (call it in afterEach): held activities are let go and open
   * cases cancelled, so their timers cannot fire while a later test skips time.
   */
  finishCases(): Promise<void>;
  openCase(opts?: {
    partners?: PartnerCandidate[];
    /** Set up the case's world (failing endpoints, a held selection) before the workflow starts. */
    prepare?: (world: CaseWorld) => void;
  }): Promise<ServiceRequestCase>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startWorkflowTestBed(): Promise<WorkflowTestBed> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: quietLogger as never,
      // The test server lacks capabilities core warns about on every worker start; keep errors only.
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: requiredEnv('TEMPORAL_TEST_SERVER_PATH') } },
  });
  await registerCaseSearchAttributes(env);
  const services = new FakeCaseServices();
  const taskQueue = `workflow-tests-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection, taskQueue,
    workflowBundle: { codePath: requiredEnv('TEST_WORKFLOW_BUNDLE') },
    activities: services.activities,
  });
  const running = worker.run();
  let opened: ServiceRequestCase[] = [];
  const finishCases = async () => {
    services.releaseHeld();
    const cases = opened;
    opened = [];
    for (const c of cases) {
      await c.closeIfOpen();
      if (c.historyName) await writeHistory(c.historyName, c);
    }
  };

  const bed: WorkflowTestBed = {
    env, services, taskQueue,
    advance: (ms) => env.sleep(ms),
    finishCases,
    async openCase(opts = {}) {
      const world = services.open(opts.partners ?? []);
      opts.prepare?.(world);
      const sla = resolveServiceRequestSla([REPAIR_SLA], 'housing', 'urgent');
      const input: ServiceRequestWorkflowInput = {
        caseId: world.caseId, intake: oldManPowerCut(), sla, openedBy: 'staff:grid-leader', openedAt: new Date(await env.currentTimeMs()).toISOString(),
      };
      // Started as the API starts it (src/api/routes/serviceRequests.ts), search attributes included.
      const handle: Handle = await env.client.workflow.start<ServiceRequestWorkflow>('serviceRequest', {
        workflowId: world.workflowId, taskQueue, args: [input],
        typedSearchAttributes: [
          { key: SA.caseType, value: 'service_request' },
          { key: SA.caseStatus, value: 'dispatching' },
          { key: SA.category, value: input.intake.category },
          { key: SA.community, value: input.intake.resident.community },
        ],
      });
      const c = new ServiceRequestCase(handle, world, env);
      opened.push(c);
      return c;
    },
    async stop() {
      await finishCases();
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
  return bed;
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

/** The seed's story: an 80-year-old living alone, his power has failed. */
function oldManPowerCut(): ServiceRequestIntake {
  return {
    resident: {
      name: '王大爷', phone: '13800000000', community: '幸福社区', compound: '老旧小区3号院', grid: 'G3',
      address: '3号楼2单元101', flags: ['elderly_alone'],
    },
    category: 'housing', description: '家里停电了，需要维修', urgency: 'urgent', channel: 'home_visit',
  };
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
// One case, driven through the same updates the API uses, by the people of docs/domain.md.
// ---------------------------------------------------------------------------------------

export class ServiceRequestCase {
  /** Set by `recordHistoryIfAsked`: the history is written under this name once the case has ended. */
  historyName?: string;

  constructor(readonly handle: Handle, readonly world: CaseWorld, private readonly env: TestWorkflowEnvironment) {}

  get workflowId(): string { return this.world.workflowId; }

  state(): Promise<ServiceRequestState> { return this.handle.query(m.getServiceRequestState); }
  /** The final state (time skips until the workflow ends). */
  result(): Promise<ServiceRequestState> { return this.handle.result(); }

  // partner (共建单位)
  accept(partnerId: string) { return this.update(m.acceptOrder, { partnerId, actor: `partner:${partnerId}` }); }
  decline(partnerId: string, reason: string) { return this.update(m.declineOrder, { partnerId, reason, actor: `partner:${partnerId}` }); }
  progress(partnerId: string, note: string) { return this.update(m.reportProgress, { partnerId, note, actor: `partner:${partnerId}` }); }
  complete(partnerId: string, note: string, hoursSpent?: number) {
    return this.update(m.completeOrder, { partnerId, note, hoursSpent, actor: `partner:${partnerId}` });
  }
  askExtension(partnerId: string, extraTime: string, reason: string) {
    const extraTimeMs = parseIsoDuration(extraTime);
    if (extraTimeMs === null) throw new Error(`not an ISO 8601 duration: ${extraTime}`);
    return this.update(m.requestExtension, { partnerId, extraTime, extraTimeMs, reason, actor: `partner:${partnerId}` });
  }

  // supervisor (社区党委书记)
  assign(partnerId: string) { return this.update(m.assignPartner, { partnerId, actor: 'supervisor:secretary' }); }
  decideExtension(approve: boolean) { return this.update(m.decideExtension, { approve, actor: 'supervisor:secretary' }); }

  // staff (网格长)
  followUp(resolved: boolean, note: string) { return this.update(m.recordFollowUp, { resolved, note, actor: 'staff:grid-leader' }); }
  survey(score: number, comment?: string) { return this.update(m.recordSurvey, { score, comment, actor: 'staff:grid-leader' }); }
  cancel(reason: string) { return this.update(m.cancelServiceRequest, { reason, actor: 'staff:grid-leader' }); }

  /**
   * Wait until the `nth` order has reached `partnerId`: its `order.dispatched` webhook was
   * delivered and the workflow has written that into the timeline.
   */
  dispatchedTo(partnerId: string, nth = 1): Promise<WebhookAttempt> {
    return this.delivered(partnerId, 'order.dispatched', nth);
  }

  /** Wait until the `nth` webhook `event` was delivered to `partnerId` and recorded in the timeline. */
  async delivered(partnerId: string, event: string, nth = 1): Promise<WebhookAttempt> {
    const webhook = await this.world.until(`${event} #${nth} delivered to ${partnerId}`, () =>
      this.world.delivered(partnerId).filter((w) => w.event === event)[nth - 1]);
    await this.world.waitForEvent('notification_delivered', { deliveryId: webhook.deliveryId });
    return webhook;
  }

  /** The search attributes the Temporal UI shows for this case, by name. */
  async searchAttributes(): Promise<Record<string, unknown>> {
    const { typedSearchAttributes } = await this.handle.describe();
    return Object.fromEntries(typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]));
  }

  /**
   * The search attributes once they show `expected`. The workflow upserts them right after
   * each read-model write, in its next workflow task, so they trail the timeline a little.
   */
  async searchAttributesShowing(expected: Record<string, unknown>): Promise<Record<string, unknown>> {
    return eventually(() => this.searchAttributes(), {
      timeoutMs: 10_000, what: `search attributes ${JSON.stringify(expected)}`,
      accept: (attrs) => Object.entries(expected).every(([k, v]) => attrs[k] === v),
    });
  }

  /**
   * Cancel the case if it is still open and wait for the workflow to end. Not `terminate()`:
   * the Java test server leaks its time-skipping lock when a run is terminated with a
   * workflow task or activity in flight (temporalio/sdk-java#1138, #3088), and every later
   * `env.sleep()` then hangs or runs in real time. A cancelled case ends by itself, after
   * its last activity. Terminate only a run that does not end (a broken workflow task).
   */
  async closeIfOpen(): Promise<void> {
    await this.cancel('test finished').catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.handle.result().then(() => true, () => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), 10_000); }),
    ]);
    clearTimeout(timer);
    if (!ended) await this.handle.terminate('did not end after cancellation').catch(() => undefined);
  }

  async now(): Promise<number> { return this.env.currentTimeMs(); }

  private update<A>(def: UpdateDefinition<ServiceRequestState, [A]>, arg: A): Promise<ServiceRequestState> {
    return this.handle.executeUpdate(def, { args: [arg] });
  }
}

/** The failure a validator raised for a rejected update (what the API turns into 409/403). */
export async function rejection(action: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await action;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) return err.cause;
    throw err;
  }
  throw new Error('the action was accepted, but it should have been rejected');
}

// ---------------------------------------------------------------------------------------
// Recording histories for the replay tests (tests/replay/replay.test.ts explains).
// ---------------------------------------------------------------------------------------

export const HISTORIES_DIR = join(__dirname, '..', 'replay', 'histories');

/**
 * With RECORD_HISTORIES=1, write the case's history to tests/replay/histories/<name>.json
 * when the test is over (a case the test left open is cancelled first, so every committed
 * history runs to the workflow's end).
 */
export function recordHistoryIfAsked(name: string, c: ServiceRequestCase): void {
  if (process.env.RECORD_HISTORIES === '1') c.historyName = name;
}

async function writeHistory(name: string, c: ServiceRequestCase): Promise<void> {
  await writeHistoryFile(name, await c.handle.fetchHistory());
}

/** Write one workflow history as tests/replay/histories/<name>.json. */
export async function writeHistoryFile(name: string, history: Awaited<ReturnType<ServiceRequestCase['handle']['fetchHistory']>>): Promise<void> {
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}
