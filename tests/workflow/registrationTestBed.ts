/**
 * The time-skipping test server with a worker running the registration workflow against
 * in-memory activities: a directory of department reviewers, partner endpoints that
 * record every webhook, a certificate register and a read model that records the timeline.
 * Each case gets its own `RegistrationWorld`, so the tests of a file share one worker.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { CaseActivities, CertificateRequest, DepartmentReviewer, ReviewerCriteria, WebhookDelivery } from '../../src/activities';
import type { CaseEvent, CaseEventBatch } from '../../src/domain/caseEvents';
import { formatCertificateNo, type RegistrationIntake, type RegistrationState, type RegistrationWorkflowInput } from '../../src/domain/registration';
import { resolveRegistrationSla } from '../../src/domain/sla';
import type { Department } from '../../src/domain/vocabulary';
import * as m from '../../src/workflows/messages';
import { DAY, HOUR, MINUTE, startCaseTestBed } from './caseTestBed';
import { RecordedCase } from './recordedCase';

export { DAY, HOUR, MINUTE };

export interface SentWebhook { event: string; partnerId: string; orderId: string; deadline?: string; case: Record<string, any> }

type Activities = Pick<CaseActivities, 'recordCaseEvents' | 'deliverWebhook' | 'selectDepartmentReviewer' | 'issueCertificateNumber' | 'notifyEscalationContacts'>;

/** A reviewer whose id starts with this has a webhook endpoint that answers 503 to every delivery. */
export const UNAVAILABLE_PARTNER = 'down:';

/** One case's surroundings: who reviews for each department, what was sent, what was recorded. */
export class RegistrationWorld extends RecordedCase {
  readonly caseId = randomUUID();
  readonly webhooks: SentWebhook[] = [];
  /** Deliveries running right now, and the most that ever ran at once (parallel review requests). */
  inFlight = 0;
  maxInFlight = 0;
  /** Attempts at partners whose endpoint is down (ids starting with UNAVAILABLE_PARTNER). */
  failedDeliveries = 0;
  /** Hold each `review.requested` (2 s at most) until all three are in flight: proves they are sent in parallel. */
  holdReviewRequestsForSiblings = false;
  /** How often the workflow asked for each department's reviewer (the first request and every search after it). */
  readonly reviewerLookups: Partial<Record<Department, number>> = {};

  constructor(readonly reviewers: Partial<Record<Department, string | null>>) {
    super();
  }

  sent(partnerId: string, event?: string): SentWebhook[] {
    return this.webhooks.filter((w) => w.partnerId === partnerId && (!event || w.event === event));
  }

  waitForEvent(type: string, nth = 1): Promise<CaseEvent> {
    return this.until(`${type} #${nth}`, () => this.events(type)[nth - 1]);
  }

  waitForWebhook(partnerId: string, event: string, nth = 1): Promise<SentWebhook> {
    return this.until(`${event} #${nth} to ${partnerId}`, () => this.sent(partnerId, event)[nth - 1]);
  }
}

/** The in-memory activities, each call routed to the world of its case. */
class FakeRegistrationServices {
  private readonly worlds = new Map<string, RegistrationWorld>();
  private certificatesIssued = 0;
  private readonly certificates = new Map<string, string>();

  open(reviewers: Partial<Record<Department, string | null>>): RegistrationWorld {
    const world = new RegistrationWorld(reviewers);
    this.worlds.set(world.caseId, world);
    return world;
  }

  private world(caseId: string): RegistrationWorld {
    const world = this.worlds.get(caseId);
    if (!world) throw ApplicationFailure.nonRetryable(`no test world for case ${caseId}`);
    return world;
  }

  readonly activities: Activities = {
    recordCaseEvents: async (batch: CaseEventBatch) => {
      this.world(batch.snapshot.id).record(batch);
    },
    // No escalation contacts in these stories (tests/workflow/slaClocks.test.ts has them).
    notifyEscalationContacts: async () => ({ contacts: 0, delivered: 0, refused: 0 }),
    selectDepartmentReviewer: async (c: ReviewerCriteria): Promise<DepartmentReviewer | null> => {
      const world = this.world(c.caseId);
      world.reviewerLookups[c.department] = (world.reviewerLookups[c.department] ?? 0) + 1;
      const partnerId = world.reviewers[c.department];
      return partnerId ? { partnerId, name: `${c.department} bureau`, openReviews: 0 } : null;
    },
    deliverWebhook: async (d: WebhookDelivery) => {
      const world = this.world(d.caseId);
      if (d.partnerId.startsWith(UNAVAILABLE_PARTNER)) {
        world.failedDeliveries += 1;
        world.changed();
        throw ApplicationFailure.retryable('partner answered HTTP 503', 'WebhookDeliveryFailed', { httpStatus: 503 });
      }
      world.inFlight += 1;
      world.maxInFlight = Math.max(world.maxInFlight, world.inFlight);
      world.changed();
      if (d.event === 'review.requested' && world.holdReviewRequestsForSiblings) await world.until('parallel review requests', () => world.inFlight >= 3, 2000).catch(() => undefined);
      world.inFlight -= 1;
      world.webhooks.push({ event: d.event, partnerId: d.partnerId, orderId: d.orderId, deadline: d.deadline, case: d.case });
      world.changed();
      return { httpStatus: 200, attempt: 1 };
    },
    issueCertificateNumber: async (req: CertificateRequest) => {
      const existing = this.certificates.get(req.caseId);
      if (existing) return { certificateNo: existing, sequence: 0 };
      const sequence = ++this.certificatesIssued;
      const certificateNo = formatCertificateNo(req.year, sequence);
      this.certificates.set(req.caseId, certificateNo);
      return { certificateNo, sequence };
    },
  };
}

export const REVIEWERS = { tax: 'tax-bureau', housing: 'housing-bureau', natural_resources: 'natural-resources-bureau' } as const;

/** The shipped registration SLA, pinned so the tests do not move when the defaults do. */
export const SLA = resolveRegistrationSla([{
  caseType: 'registration', supplementWindow: 'P15D', reviewTimeout: 'PT2H', completionTarget: 'PT20M', surveyWindow: 'P7D',
}]);

export interface RegistrationTestBed {
  env: TestWorkflowEnvironment;
  advance(ms: number): Promise<void>;
  open(
    intake: RegistrationIntake, reviewers?: Partial<Record<Department, string | null>>,
    opts?: Partial<Pick<RegistrationWorkflowInput, 'continueAsNewAfterEvents' | 'sla'>>,
  ): Promise<RegistrationCase>;
  now(): Promise<number>;
  stop(): Promise<void>;
}

/** `serverPath`: a test server whose clock starts on a given date (tests/support/fakeClock.ts). */
export async function startRegistrationTestBed(opts: { serverPath?: string } = {}): Promise<RegistrationTestBed> {
  const services = new FakeRegistrationServices();
  const bed = await startCaseTestBed(services.activities, { serverPath: opts.serverPath });
  return {
    env: bed.env,
    advance: (ms) => bed.advance(ms),
    now: () => bed.now(),
    async open(intake, reviewers = REVIEWERS, { sla = SLA, ...opts } = {}) {
      const world = services.open(reviewers);
      const input: RegistrationWorkflowInput = {
        caseId: world.caseId, intake, sla, openedBy: 'staff:window-1', openedAt: new Date(await bed.now()).toISOString(), ...opts,
      };
      // Started as the API starts it: the same startCaseWorkflow, search attributes included.
      const handle = await bed.start('registration', input);
      return bed.track(new RegistrationCase(handle, world));
    },
    stop: () => bed.stop(),
  };
}

type RegistrationHandle = WorkflowHandle<(i: RegistrationWorkflowInput) => Promise<RegistrationState>>;

/** One case, driven through the updates the API uses, by the window staff and the departments. */
export class RegistrationCase {
  constructor(readonly handle: RegistrationHandle, readonly world: RegistrationWorld) {}

  /** Cases left open would otherwise keep firing timers while later tests skip time. */
  async closeIfOpen(): Promise<void> {
    await this.handle.terminate('test finished').catch(() => undefined);
  }

  state(): Promise<RegistrationState> { return this.handle.query(m.getRegistrationState); }
  /** The final state (time skips until the workflow ends). */
  result(): Promise<RegistrationState> { return this.handle.result(); }

  supplement(...documents: RegistrationIntake['documents']) {
    return this.handle.executeUpdate(m.supplementDocuments, { args: [{ documents, actor: 'staff:window-1' }] });
  }
  review(department: Department, approved: boolean, reason?: string, partnerId: string = REVIEWERS[department]) {
    return this.handle.executeUpdate(m.recordReview, { args: [{ department, partnerId, approved, reason, actor: `partner:${partnerId}` }] });
  }
  approveAll() {
    return Promise.all((Object.keys(REVIEWERS) as Department[]).map((d) => this.review(d, true)));
  }
  delivered(note?: string) { return this.handle.executeUpdate(m.markDelivered, { args: [{ note, actor: 'staff:window-1' }] }); }
  survey(score: number, comment?: string) {
    return this.handle.executeUpdate(m.recordRegistrationSurvey, { args: [{ score, comment, actor: 'staff:window-1' }] });
  }
  /** A supervisor sends the department's review to another partner (the API has checked it is one of that department). */
  assign(department: Department, partnerId: string) {
    return this.handle.executeUpdate(m.assignReviewer, { args: [{ department, partnerId, partnerName: `${department} office ${partnerId}`, actor: 'supervisor:lead-1' }] });
  }
  cancel(reason: string) { return this.handle.executeUpdate(m.cancelRegistration, { args: [{ reason, actor: 'staff:window-1' }] }); }

  /**
   * Every department has its request, and the workflow has recorded each delivery: answers
   * come after that, as from a department that read the request. (An answer racing the
   * delivery's completion makes the workflow cancel an activity that has just completed,
   * which the real server records and the time-skipping test server refuses.)
   */
  reviewsRequested(): Promise<SentWebhook[]> {
    return this.reviewsRequestedBy(Object.keys(REVIEWERS) as Department[]);
  }

  /** The same for some departments (the others have no reviewer). */
  async reviewsRequestedBy(departments: Department[]): Promise<SentWebhook[]> {
    const requests = await Promise.all(departments.map((d) => this.world.waitForWebhook(REVIEWERS[d], 'review.requested')));
    await this.world.until('the review requests recorded as delivered', () => requests.every((r) =>
      this.world.events('notification_delivered').some((e) => e.data.event === 'review.requested' && e.data.orderId === r.orderId)));
    return requests;
  }

  async searchAttributes(): Promise<Record<string, unknown>> {
    const { typedSearchAttributes } = await this.handle.describe();
    // TemporalChangeVersion is the SDK's record of patches (patched()), not one of the case's attributes.
    return Object.fromEntries(typedSearchAttributes.getAll().filter((pair) => pair.key.name !== 'TemporalChangeVersion').map((pair) => [pair.key.name, pair.value]));
  }
}

/** The failure a validator raised for a rejected update (what the API turns into 409/403/400). */
export async function rejection(action: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await action;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) return err.cause;
    throw err;
  }
  throw new Error('the action was accepted, but it should have been rejected');
}
