/**
 * The time-skipping test server with a worker running the care-plan workflow (and the
 * service requests its installations open) against in-memory activities: partner endpoints
 * that record every webhook, a read model that keeps the timeline and the visit rows (the
 * newest revision of each, as Postgres does), and a partner directory for the installations.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type {
  CaseActivities, CareVisitBatch, EscalationNotice, EscalationNoticeResult, PartnerCandidate, PartnerSelectionCriteria, WebhookDelivery,
} from '../../src/activities';
import type { CarePlanIntake, CarePlanState, CarePlanWorkflowInput, CareVisitRecord } from '../../src/domain/carePlan';
import type { CaseEvent, CaseEventBatch } from '../../src/domain/caseEvents';
import { resolveServiceRequestSla } from '../../src/domain/sla';
import * as cp from '../../src/workflows/carePlanMessages';
import * as m from '../../src/workflows/messages';
import { startCaseTestBed } from './caseTestBed';
import { RecordedCase } from './recordedCase';
import { REPAIR_SLA } from './support';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

export interface SentWebhook { event: string; partnerId: string; orderId: string; deliveryId: string; case: Record<string, any> }

/** One plan's surroundings: what was sent, what the read model holds, the installations' requests. */
export class CarePlanWorld extends RecordedCase {
  readonly caseId = randomUUID();
  readonly webhooks: SentWebhook[] = [];
  /** The read model's care_plan_visits: the newest revision of each visit. */
  readonly visits = new Map<string, CareVisitRecord>();
  /** Every visit write, in arrival order (a lost or repeated write would show here). */
  readonly visitWrites: CareVisitRecord[] = [];
  /** Escalation contacts per level (none unless a test adds them), and what each level was told. */
  readonly escalationContacts: Partial<Record<number, string[]>> = {};
  readonly escalationNotices: EscalationNotice[] = [];

  notifyEscalationContacts(notice: EscalationNotice): EscalationNoticeResult {
    const contacts = this.escalationContacts[notice.level] ?? [];
    if (contacts.length) this.escalationNotices.push(notice);
    this.changed();
    return { contacts: contacts.length, delivered: contacts.length, refused: 0 };
  }

  writeVisits(batch: CareVisitBatch): void {
    for (const v of batch.visits) {
      this.visitWrites.push(v);
      const stored = this.visits.get(v.visitId);
      if (!stored || stored.rev < v.rev) this.visits.set(v.visitId, v);
    }
    this.changed();
  }

  waitForEvent(type: string, nth = 1): Promise<CaseEvent> {
    return this.until(`${type} #${nth}`, () => this.events(type)[nth - 1]);
  }

  /**
   * Visit `visitId` is scheduled and the workflow is quiet again: its row written and the
   * partner's `visit.scheduled` recorded as delivered. (The time-skipping test server refuses
   * an update taken in the same workflow task as the timer that schedules a visit: "invalid
   * history builder state for action"; the real server does not.)
   */
  async scheduledVisit(visitId: string): Promise<CareVisitRecord> {
    const v = await this.waitForVisit(visitId);
    await this.told('visit.scheduled', visitId);
    return v;
  }

  /** The partner's `event` about `orderId` (nth of them) is recorded as delivered. */
  told(event: string, orderId: string, nth = 1): Promise<CaseEvent> {
    return this.until(`${event} for ${orderId} recorded`, () => this.events('notification_delivered')
      .filter((e) => e.data.event === event && e.data.orderId === orderId)[nth - 1]);
  }

  visit(visitId: string): CareVisitRecord | undefined { return this.visits.get(visitId); }

  waitForVisit(visitId: string, accept: (v: CareVisitRecord) => boolean = () => true, what = ''): Promise<CareVisitRecord> {
    return this.until(`${visitId} ${what}`, () => { const v = this.visits.get(visitId); return v && accept(v) ? v : undefined; });
  }

  sent(partnerId: string, event?: string): SentWebhook[] {
    return this.webhooks.filter((w) => w.partnerId === partnerId && (!event || w.event === event));
  }
}

const HANDYMAN: PartnerCandidate = { partnerId: 'handyman-co', name: '适老化改造公司', openOrders: 0 };

type Activities = Pick<CaseActivities,
  'recordCaseEvents' | 'deliverWebhook' | 'recordCareVisits' | 'resolveInstallationSla' | 'selectPartner' | 'notifyEscalationContacts'>;

class FakeCarePlanServices {
  private readonly worlds = new Map<string, CarePlanWorld>();
  /** What the service requests opened for installations wrote, by their case id. */
  readonly serviceRequests = new Map<string, RecordedCase>();

  open(): CarePlanWorld {
    const world = new CarePlanWorld();
    this.worlds.set(world.caseId, world);
    return world;
  }

  private plan(caseId: string): CarePlanWorld {
    const world = this.worlds.get(caseId);
    if (!world) throw ApplicationFailure.nonRetryable(`no test world for case ${caseId}`);
    return world;
  }

  serviceRequest(caseId: string): RecordedCase {
    let rec = this.serviceRequests.get(caseId);
    if (!rec) this.serviceRequests.set(caseId, (rec = new RecordedCase()));
    return rec;
  }

  readonly activities: Activities = {
    recordCaseEvents: async (batch: CaseEventBatch) => {
      if (batch.snapshot.type === 'care_plan') this.plan(batch.snapshot.id).record(batch);
      else this.serviceRequest(batch.snapshot.id).record(batch);
    },
    recordCareVisits: async (batch) => {
      this.plan(batch.visits[0].caseId).writeVisits(batch);
    },
    resolveInstallationSla: async () => resolveServiceRequestSla([REPAIR_SLA], 'housing', 'normal'),
    selectPartner: async (c: PartnerSelectionCriteria) => (c.excludePartnerIds.includes(HANDYMAN.partnerId) ? null : HANDYMAN),
    // An installation's request has no world of its own here: nobody to tell at any level.
    notifyEscalationContacts: async (notice: EscalationNotice) =>
      this.worlds.get(notice.caseId)?.notifyEscalationContacts(notice) ?? { contacts: 0, delivered: 0, refused: 0 },
    deliverWebhook: async (d: WebhookDelivery) => {
      const world = this.worlds.get(d.caseId);
      if (world) {
        world.webhooks.push({ event: d.event, partnerId: d.partnerId, orderId: d.orderId, deliveryId: d.deliveryId, case: d.case });
        world.changed();
      }
      return { httpStatus: 200, attempt: 1 };
    },
  };
}

export interface CarePlanTestBed {
  env: TestWorkflowEnvironment;
  now(): Promise<number>;
  /** Move workflow time to `at` (timers due meanwhile fire in order). */
  advanceTo(at: number): Promise<void>;
  advance(ms: number): Promise<void>;
  open(
    intake: (now: number) => CarePlanIntake,
    opts?: Pick<CarePlanWorkflowInput, 'continueAsNewAfterEvents' | 'sla'> & { prepare?: (world: CarePlanWorld) => void },
  ): Promise<CarePlanCase>;
  /** What a service request opened by an installation has written (its timeline, its case rows). */
  serviceRequest(caseId: string): RecordedCase;
  stop(): Promise<void>;
}

/** `serverPath`: a test server whose clock starts on a given date (tests/support/fakeClock.ts). */
export async function startCarePlanTestBed(opts: { serverPath?: string } = {}): Promise<CarePlanTestBed> {
  const services = new FakeCarePlanServices();
  const bed = await startCaseTestBed(services.activities, { serverPath: opts.serverPath });
  const { env } = bed;
  return {
    env,
    now: () => env.currentTimeMs(),
    advance: (ms) => env.sleep(ms),
    async advanceTo(at) {
      const ms = at - (await env.currentTimeMs());
      if (ms > 0) await env.sleep(ms);
    },
    async open(makeIntake, { prepare, ...opts } = {}) {
      const world = services.open();
      prepare?.(world);
      const now = await env.currentTimeMs();
      const intake = makeIntake(now);
      const input: CarePlanWorkflowInput = {
        caseId: world.caseId, intake, openedBy: 'staff:grid-leader', openedAt: new Date(now).toISOString(), ...opts,
      };
      // Started as the API starts it (startCaseWorkflow: workflow id, search attributes).
      const handle = await bed.start('care_plan', input);
      return bed.track(new CarePlanCase(handle as CarePlanHandle, world, env));
    },
    serviceRequest: (caseId) => services.serviceRequest(caseId),
    // Plans left open would keep firing timers: the bed ends them (terminating would leak the test server's time lock).
    stop: () => bed.stop(),
  };
}

type CarePlanHandle = WorkflowHandleWithFirstExecutionRunId<(i: CarePlanWorkflowInput) => Promise<CarePlanState>>;

/** One plan, driven through the updates the API uses: the partner's carers, the grid staff. */
export class CarePlanCase {
  constructor(readonly handle: CarePlanHandle, readonly world: CarePlanWorld, private readonly env: TestWorkflowEnvironment) {}

  state(): Promise<CarePlanState> { return this.handle.query(cp.getCarePlanState); }
  result(): Promise<CarePlanState> { return this.handle.result(); }

  checkIn(visitId: string, partnerId: string, carer = '李护工', location: cp.CheckInVisit['location'] = { lat: 43.88, lng: 125.32 }) {
    return this.update(cp.checkInVisit, { visitId, partnerId, carer, location, actor: `partner:${partnerId}` });
  }
  checkOut(visitId: string, partnerId: string, services: cp.CheckOutVisit['services'] = ['rehab_massage'], note?: string) {
    return this.update(cp.checkOutVisit, { visitId, partnerId, services, note, actor: `partner:${partnerId}` });
  }
  cancelVisit(visitId: string, reason: string) { return this.update(cp.cancelVisit, { visitId, reason, actor: 'staff:grid-leader' }); }
  pause(reason: string) { return this.update(cp.pauseCarePlan, { reason, actor: 'staff:grid-leader' }); }
  resume() { return this.update(cp.resumeCarePlan, { actor: 'staff:grid-leader' }); }
  end(reason: string) { return this.update(cp.endCarePlan, { reason, actor: 'staff:grid-leader' }); }
  change(change: Omit<cp.ChangeCarePlan, 'actor'>) { return this.update(cp.changeCarePlan, { ...change, actor: 'supervisor:secretary' }); }
  acknowledge(note: string) { return this.update(cp.acknowledgeCareEscalation, { note, actor: 'supervisor:secretary' }); }

  /** The plan's runs (one per continue-as-new), oldest first, with the number of history events of each. */
  async runs(): Promise<Array<{ runId: string; events: number }>> {
    const runs: Array<{ runId: string; events: number }> = [];
    for (let runId: string | null | undefined = this.handle.firstExecutionRunId; runId;) {
      const history: temporal.api.history.v1.IHistory = await this.env.client.workflow.getHandle(this.handle.workflowId, runId).fetchHistory();
      const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
      runs.push({ runId, events: events.length });
      runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    }
    return runs;
  }

  /** Cancel the service requests the plan's installations opened (staff, as through the API). */
  async cancelInstallations(): Promise<void> {
    const state = await this.state();
    for (const caseId of state.installations.map((i) => i.serviceRequestId).filter((id): id is string => !!id)) {
      await this.env.client.workflow.getHandle(m.serviceRequestWorkflowId(caseId))
        .executeUpdate(m.cancelServiceRequest, { args: [{ reason: 'test finished', actor: 'staff:grid-leader' }] }).catch(() => undefined);
    }
  }

  /** End the plan if it is still open (its installations' requests first: see cancelInstallations' callers). */
  async closeIfOpen(): Promise<void> {
    const state = await this.state().catch(() => null);
    if (!state || state.status === 'ended' || state.status === 'cancelled') return;
    await this.cancelInstallations().catch(() => undefined);
    await this.end('test finished').catch(() => undefined);
  }

  private update<A>(def: UpdateDefinition<CarePlanState, [A]>, arg: A): Promise<CarePlanState> {
    return this.handle.executeUpdate(def, { args: [arg] });
  }
}

export { rejection } from './registrationTestBed';
