/**
 * Support for workflow tests: the Java time-skipping test server (with the case search
 * attributes registered), one worker on the run's shared workflow bundle, and an
 * in-memory stand-in for the activities: a partner directory that hands partners out in
 * order, partner endpoints that record every webhook (and can be told to fail), and a
 * read model that records the timeline. Each case gets its own `CaseWorld`, so the tests
 * of one file share a worker without seeing each other.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type {
  CaseActivities, EscalationNotice, EscalationNoticeResult, PartnerCandidate, PartnerSelectionCriteria, WebhookDelivery, WebhookResult,
} from '../../src/activities';
import { type CaseEvent, type CaseEventBatch, READ_MODEL_DATA_ERROR } from '../../src/domain/caseEvents';
import { parseIsoDuration } from '../../src/domain/duration';
import type { ServiceRequestIntake, ServiceRequestState, ServiceRequestWorkflowInput } from '../../src/domain/serviceRequest';
import { resolveServiceRequestSla, type SlaPolicy } from '../../src/domain/sla';
import * as m from '../../src/workflows/messages';
import { eventually } from '../support/eventually';
import { type CaseTestBed, closeCase, DAY, HOUR, MINUTE, startCaseTestBed } from './caseTestBed';
import { RecordedCase } from './recordedCase';

export { DAY, HOUR, MINUTE };
export { HISTORIES_DIR, recordHistoryIfAsked, writeHistoryFile } from './caseTestBed';

type ServiceRequestWorkflow = (input: ServiceRequestWorkflowInput) => Promise<ServiceRequestState>;
type Handle = WorkflowHandle<ServiceRequestWorkflow>;

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
  private refusedEventType: string | null = null;
  /** Batches refused so far (see refuseBatchesWith). */
  refusedBatches = 0;
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
  /** Batches holding an event of this type are refused as Postgres refuses bad data (non-retryable). */
  refuseBatchesWith(eventType: string): void { this.refusedEventType = eventType; }
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
    if (batch.events.some((e) => e.type === this.refusedEventType)) {
      this.refusedBatches += 1;
      this.changed();
      throw ApplicationFailure.nonRetryable('invalid input syntax for type json (SQLSTATE 22P02)', READ_MODEL_DATA_ERROR);
    }
    this.record(batch);
  }

  async selectPartner(criteria: PartnerSelectionCriteria): Promise<PartnerCandidate | null> {
    this.selections.push(criteria);
    this.changed();
    if (this.selectionGate) await this.selectionGate;
    return this.partners.find((p) => !criteria.excludePartnerIds.includes(p.partnerId)) ?? null;
  }

  /** Escalation contacts per level (none unless a test adds them), and what each was told. */
  readonly escalationContacts: Partial<Record<number, string[]>> = {};
  readonly escalationNotices: EscalationNotice[] = [];

  async notifyEscalationContacts(notice: EscalationNotice): Promise<EscalationNoticeResult> {
    const contacts = this.escalationContacts[notice.level] ?? [];
    if (contacts.length) this.escalationNotices.push(notice);
    this.changed();
    return { contacts: contacts.length, delivered: contacts.length, refused: 0 };
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

type ServiceRequestActivities = Pick<CaseActivities, 'recordCaseEvents' | 'selectPartner' | 'deliverWebhook' | 'notifyEscalationContacts'>;

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
    notifyEscalationContacts: async (notice) => this.world(notice.caseId).notifyEscalationContacts(notice),
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
    /** Continue as new once a run's history has this many events (long-lived case tests). */
    continueAsNewAfterEvents?: number;
    /** Another SLA than REPAIR_SLA (e.g. one with a working-day calendar, tests/workflow/slaClocks.test.ts). */
    sla?: ServiceRequestWorkflowInput['sla'];
  }): Promise<ServiceRequestCase>;
  stop(): Promise<void>;
}

/** `serverPath`: another test server executable (tests/support/fakeClock.ts starts one on a given date). */
export async function startWorkflowTestBed(opts: { serverPath?: string } = {}): Promise<WorkflowTestBed> {
  const services = new FakeCaseServices();
  const bed: CaseTestBed = await startCaseTestBed(services.activities, { beforeClose: () => services.releaseHeld(), serverPath: opts.serverPath });
  const { env } = bed;
  return {
    env, services, taskQueue: bed.taskQueue,
    advance: (ms) => bed.advance(ms),
    finishCases: () => bed.finishCases(),
    async openCase(opts = {}) {
      const world = services.open(opts.partners ?? []);
      opts.prepare?.(world);
      const sla = opts.sla ?? resolveServiceRequestSla([REPAIR_SLA], 'housing', 'urgent');
      const input: ServiceRequestWorkflowInput = {
        caseId: world.caseId, intake: oldManPowerCut(), sla, openedBy: 'staff:grid-leader', openedAt: new Date(await env.currentTimeMs()).toISOString(),
        ...(opts.continueAsNewAfterEvents ? { continueAsNewAfterEvents: opts.continueAsNewAfterEvents } : {}),
      };
      // Started as the API starts it: the same startCaseWorkflow, search attributes included.
      const handle: Handle = await bed.start('service_request', input);
      return bed.track(new ServiceRequestCase(handle, world, env));
    },
    stop: () => bed.stop(),
  };
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
  hold(partnerId: string, reason: m.HoldOrder['reason'], note?: string) {
    return this.update(m.holdOrder, { partnerId, reason, note: note ?? null, actor: `partner:${partnerId}` });
  }
  resume(partnerId: string) { return this.update(m.resumeOrder, { partnerId, actor: `partner:${partnerId}` }); }
  acknowledgeEscalation(note: string) { return this.update(m.acknowledgeEscalation, { note, actor: 'supervisor:secretary' }); }

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
    // TemporalChangeVersion is the SDK's record of patches (patched()), not one of the case's attributes.
    return Object.fromEntries(typedSearchAttributes.getAll().filter((pair) => pair.key.name !== 'TemporalChangeVersion').map((pair) => [pair.key.name, pair.value]));
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
   * Cancel the case if it is still open and wait for the workflow to end (closeCase says
   * why not terminate).
   */
  async closeIfOpen(): Promise<void> {
    await closeCase(this.handle, () => this.cancel('test finished'));
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

