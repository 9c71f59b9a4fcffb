/**
 * 不动产登记: one registration case, from the one-window intake to the satisfaction survey.
 *
 * The shape of the resident request: update handlers validate an action against the
 * current state, change it at once and queue the webhooks that follow; the main loop
 * sends them, requests the department reviews (all at once), issues the certificate,
 * writes the timeline and sleeps until the next change or deadline (supplement window,
 * review reminder and escalation, survey window).
 */
import { patched, setHandler, uuid4 } from '@temporalio/workflow';
import {
  allApproved, type DepartmentReview, nextStepOfReviews, openReview, pendingReviews, searchAgain, sendReviewTo,
} from '../domain/departmentReview';
import { dueAfter, workingTime } from '../domain/slaClock';
import {
  certificateTiming, DOCUMENTS, initialRegistrationState, linkedInstitutionNotice, missingDocuments, type RegistrationState,
  type RegistrationWorkflowInput, registrationSnapshot, reviewRequestCase, shanghaiDate,
} from '../domain/registration';
import { surveyOutcome } from '../domain/serviceRequest';
import { DEPARTMENTS, type Department } from '../domain/vocabulary';
import { caseActivities, CaseKernel, type Deadline, type PartnerNotification } from './caseKernel';
import { CaseEscalations, CLIMB_AFTER_CLOSE_PATCH, SLA_CLOCKS_PATCH, sooner } from './escalationChain';
import * as m from './messages';
import { LOW_SCORE_ESCALATES, NOTICE_AT_ISSUE, REVIEWER_SEARCH } from './registrationPatches';
import { handleReviewerAssignment } from './reviewerAssignment';
import { invalidAction, invalidState, notYourOrder } from './validation';

/** Reviewer choice and certificate numbers live in Postgres: retry until it is back. */
const { selectDepartmentReviewer, issueCertificateNumber } = caseActivities;

const iso = (ms: number) => new Date(ms).toISOString();

export async function registration(input: RegistrationWorkflowInput): Promise<RegistrationState> {
  const { caseId, sla } = input;
  const now = () => Date.now();
  const kernel = new CaseKernel({
    type: 'registration', input, state: initialRegistrationState(input), memory: { reviewsToRequest: [] as Department[], reviewsToSend: [], noticedAtIssue: false },
    snapshot: (s, _memory, workflowId) => registrationSnapshot(s, workflowId),
  });
  // In a continued run these are the state and memory carried from the run before.
  const { state } = kernel;
  /** Departments whose review has no reviewer yet (new, or none was available last time). */
  const { reviewsToRequest } = kernel.memory;
  /** Reviews a supervisor assigned, whose request is still to go out (absent in memory carried from older code). */
  const reviewsToSend = (kernel.memory.reviewsToSend ??= []);
  const record = kernel.record.bind(kernel);
  const notify = kernel.notify.bind(kernel);
  // Working-day deadlines and the escalation chain; cases begun before them keep wall-clock time (replay).
  const clocks = patched(SLA_CLOCKS_PATCH);
  if (clocks) state.escalations ??= [];
  const chain = clocks
    ? new CaseEscalations(kernel, state.escalations!, sla, { caseId, caseType: 'registration', workflowId: kernel.workflowId, community: () => state.community })
    : null;
  /** When `ms` of the policy's time from `from` ends (working time on its calendar once the clocks apply). */
  const dueMs = (from: number, ms: number): number => (clocks ? dueAfter(sla, from, ms).at : from + ms);
  function dueAt(kind: string, ms: number): string {
    if (!clocks) return iso(now() + ms);
    const { at, provisional } = dueAfter(sla, now(), ms);
    const others = (state.provisionalDeadlines ?? []).filter((k) => k !== kind);
    state.provisionalDeadlines = provisional ? [...others, kind] : others;
    return iso(at);
  }

  // ---- state changes shared by several paths ----

  /** 受理: the documents are complete; the SLA clock starts and the three reviews go out together. */
  function accept(): void {
    state.status = 'in_review';
    state.acceptedAt = iso(now());
    state.deadlines = {};
    record('accepted', 'system', { acceptedAt: state.acceptedAt, completionTarget: sla.source.completionTarget });
    for (const department of DEPARTMENTS) {
      state.reviews[department] = openReview(uuid4(), now(), sla.reviewTimeoutMs, dueMs);
      reviewsToRequest.push(department);
    }
  }

  function withdrawPendingReviews(reason: string): void {
    for (const [department, review] of pendingReviews(state.reviews)) {
      review.status = 'withdrawn';
      record('review_withdrawn', 'system', { department, partnerId: review.partnerId, orderId: review.orderId, reason });
      if (review.partnerId) {
        kernel.queueNotification({ partnerId: review.partnerId, event: 'order.withdrawn', orderId: review.orderId, case: { department, reason } });
      }
    }
    reviewsToRequest.length = 0;
  }

  function finish(): void {
    chain?.resolve('all', state.status);
    state.closedAt = iso(now());
    state.deadlines = {};
    state.overdue = false;
  }

  function withdraw(reason: string, by: string): void {
    withdrawPendingReviews('case withdrawn');
    state.status = 'withdrawn';
    state.withdrawal = { reason, by };
    finish();
    record('withdrawn', by, { reason });
  }

  function reject(department: Department, partnerId: string, reason: string): void {
    state.rejection = { department, partnerId, reason, at: iso(now()) };
    withdrawPendingReviews(`rejected by ${department}`);
    state.status = 'rejected';
    finish();
    record('rejected', 'system', { department, reason });
  }

  function close(outcome: NonNullable<RegistrationState['outcome']>): void {
    state.status = 'closed';
    state.outcome = outcome;
    finish();
    record('closed', 'system', { outcome });
  }

  // ---- queries and updates ----

  setHandler(m.getRegistrationState, () => state);

  setHandler(m.supplementDocuments, ({ documents, actor }) => {
    const added = [...new Set(documents)].filter((code) => !state.documents.includes(code));
    state.documents.push(...added);
    state.missingDocuments = missingDocuments(state.businessType, state.documents);
    record('documents_supplemented', actor, { documents: added, missingDocuments: state.missingDocuments });
    if (state.missingDocuments.length === 0) accept();
    return state;
  }, { validator: (_input) => kernel.require('supplement', 'supplement documents for') });

  setHandler(m.recordReview, ({ department, partnerId, approved, reason, actor }) => {
    const review = state.reviews[department]!;
    if (review.status !== 'pending') return state; // the department repeating its answer
    review.status = approved ? 'approved' : 'rejected';
    review.reason = reason ?? null;
    review.answeredAt = iso(now());
    record(approved ? 'review_approved' : 'review_rejected', actor, { department, partnerId, orderId: review.orderId, reason: review.reason });
    if (!approved) {
      reject(department, partnerId, reason!);
    } else if (allApproved(state.reviews, DEPARTMENTS)) {
      state.status = 'issuing';
      state.overdue = false;
    } else {
      state.overdue = pendingReviews(state.reviews).some(([, r]) => r.overdue);
    }
    // The late review came in: no review is overdue any more.
    if (!state.overdue) chain?.resolve(['review_overdue'], 'review', actor);
    return state;
  }, {
    validator: ({ department, partnerId, approved, reason }: m.RecordReview) => {
      kernel.require('review');
      const review = state.reviews[department];
      if (review?.partnerId !== partnerId) throw notYourOrder(`the ${department} review of this case was not sent to your organisation`);
      if (!approved && !reason?.trim()) throw invalidAction('a rejection needs the reason the applicant will be told');
      if (review.status !== 'pending' && review.status !== (approved ? 'approved' : 'rejected')) {
        throw invalidState(state.status, `the ${department} review was already answered (${review.status})`);
      }
    },
  });

  setHandler(m.markDelivered, ({ note, actor }) => {
    state.delivered = { method: state.delivery, note: note ?? null, by: actor, at: iso(now()) };
    record('delivered', actor, { method: state.delivery, note: note ?? null });
    // Cases from before notice-at-issue tell the linked institutions now, at delivery.
    if (!kernel.memory.noticedAtIssue) for (const n of linkedNotices()) kernel.queueNotification(n);
    state.status = 'awaiting_survey';
    state.deadlines = { survey: dueAt('survey', sla.surveyWindowMs) };
    return state;
  }, { validator: (_input) => kernel.require('deliver', 'mark delivered') });

  setHandler(m.recordRegistrationSurvey, ({ score, comment, actor }) => {
    state.survey = { score, comment: comment ?? null, at: iso(now()) };
    const { outcome, needsReview } = surveyOutcome(score);
    record('survey', actor, { score, comment: comment ?? null });
    if (needsReview) record('supervisor_review_opened', 'system', { score });
    close(outcome);
    // Raised once the case is closed (closing resolves the case's other escalations); it climbs after the close.
    if (needsReview && chain && patched(LOW_SCORE_ESCALATES)) chain.raise('low_survey_score');
    return state;
  }, { validator: (_input) => kernel.require('survey', 'record a survey for') });

  setHandler(m.cancelRegistration, ({ reason, actor }) => {
    withdraw(reason, actor);
    return state;
  }, { validator: (_input) => kernel.require('cancel') });

  handleReviewerAssignment(kernel, sla.reviewTimeoutMs, clocks ? dueMs : undefined);

  setHandler(m.acknowledgeRegistrationEscalation, ({ note, actor }) => {
    chain!.acknowledge(actor, note);
    return state;
  }, {
    validator: (_input) => {
      if (!chain?.acknowledgeable) throw invalidState(state.status, 'the case has no escalation waiting to be taken on');
    },
  });

  // ---- side effects run by the main loop ----

  /** 并行办理: choose each department's reviewer, then send every request at the same time. */
  async function requestReviews(departments: Department[]): Promise<void> {
    const reviewers = await Promise.all(departments.map((department) =>
      selectDepartmentReviewer({ caseId, department, community: state.community })));
    const requests: { notification: PartnerNotification; department: Department }[] = [];
    departments.forEach((department, i) => {
      const review = state.reviews[department]!;
      const reviewer = reviewers[i];
      if (state.status !== 'in_review' || review.status !== 'pending') return; // answered or withdrawn meanwhile
      if (review.partnerId) return; // a supervisor assigned one meanwhile
      if (!reviewer) return reviewerMissing(department, review);
      const searches = review.searches;
      // Found by a later search: the reviewer gets a whole review timeout from now.
      if (review.nextSearchAt) {
        sendReviewTo(review, reviewer.partnerId, review.orderId, now(), sla.reviewTimeoutMs, dueMs);
        state.overdue = pendingReviews(state.reviews).some(([, r]) => r.overdue);
      }
      review.partnerId = reviewer.partnerId;
      requests.push(reviewRequest(department, reviewer.name, searches ? { searches } : {}));
    });
    await sendReviewRequests(requests);
  }

  /** Record a review's request (the read model names the reviewer) and the webhook that announces it. */
  function reviewRequest(department: Department, partnerName: string, extra: Record<string, unknown> = {}) {
    const review = state.reviews[department]!;
    const partnerId = review.partnerId!;
    record('review_requested', 'system', { department, partnerId, partnerName, orderId: review.orderId, dueAt: review.dueAt, ...extra });
    const notification: PartnerNotification = {
      partnerId, event: 'review.requested', orderId: review.orderId, deadline: review.dueAt, case: reviewRequestCase(state, department),
    };
    return { department, notification };
  }

  async function sendReviewRequests(requests: { notification: PartnerNotification; department: Department }[]): Promise<void> {
    await kernel.flush(); // the read model shows who reviews what before anyone can answer
    await Promise.all(requests.map((r) => notify(r.notification, reviewAnswered(r.department, r.notification.orderId))));
  }

  /**
   * No partner of the department can take the review. Since reviewer-search it is looked
   * for again on a growing timer (the first miss is escalated and recorded, later misses
   * only move the timer); before, at the reminder and the timeout only.
   */
  function reviewerMissing(department: Department, review: DepartmentReview): void {
    const searching = review.searches !== undefined;
    if (searching || patched(REVIEWER_SEARCH)) searchAgain(review, now());
    if (!searching) record('escalated', 'system', { reason: 'no_reviewer', department, nextSearchAt: review.nextSearchAt });
  }

  /** A review request (or its reminder) is moot once the department has answered or the review was withdrawn. */
  const reviewAnswered = (department: Department, orderId: string) => () => {
    const review = state.reviews[department];
    return !review || review.orderId !== orderId || review.status !== 'pending';
  };

  async function remindReviewer(department: Department): Promise<void> {
    const review = state.reviews[department]!;
    review.reminded = true;
    // Nobody has the review yet: look for a reviewer again instead of reminding no one.
    if (!review.partnerId) return requestReviews([department]);
    record('reminder_sent', 'system', { department, partnerId: review.partnerId, orderId: review.orderId, dueAt: review.dueAt });
    await notify({
      partnerId: review.partnerId, event: 'order.reminder', orderId: review.orderId, deadline: review.dueAt,
      case: { department, reminder: true },
    }, reviewAnswered(department, review.orderId));
  }

  /** Past the review timeout: overdue and escalated to a supervisor; the answer is still waited for. */
  function escalateReview(department: Department): void {
    const review = state.reviews[department]!;
    review.overdue = true;
    state.overdue = true;
    record('overdue', 'system', { kind: 'review', department, partnerId: review.partnerId, deadline: review.dueAt });
    record('escalated', 'system', { reason: 'review_overdue', department, partnerId: review.partnerId });
    chain?.raise('review_overdue');
    if (!review.partnerId && !review.nextSearchAt) reviewsToRequest.push(department); // (a review being searched for has its own timer)
  }

  /** 登簿发证: draw the number, then measure acceptance-to-certificate against the completion target. */
  async function issueCertificate(): Promise<void> {
    const year = Number(shanghaiDate(iso(now())).slice(0, 4));
    const { certificateNo } = await issueCertificateNumber({ caseId, year });
    const issuedAt = iso(now());
    // The completion target is working time when the policy counts on a calendar.
    const workingMs = clocks ? workingTime(sla, Date.parse(state.acceptedAt!), Date.parse(issuedAt)) : undefined;
    if (clocks) state.workingTimeToCertificateMs = workingMs ?? null;
    const timing = certificateTiming(state.acceptedAt!, issuedAt, sla.completionTargetMs, workingMs);
    Object.assign(state, timing);
    state.certificateNo = certificateNo;
    state.certificateIssuedAt = issuedAt;
    state.status = 'awaiting_delivery';
    record('certificate_issued', 'system', { certificateNo, delivery: state.delivery, ...timing });
    if (!timing.withinCompletionTarget) record('completion_target_breached', 'system', { ...timing });
    // 不动产+: the bank needs the mortgage on record, whatever day the owner collects the paper.
    if (state.linkedInstitutions.length > 0 && patched(NOTICE_AT_ISSUE)) {
      kernel.memory.noticedAtIssue = true;
      await kernel.flush(); // the certificate is in the read model before anyone is told of it
      await Promise.all(linkedNotices().map((n) => notify(n)));
    }
  }

  /** The linked institutions' `case.notice`; it concerns the case as a whole, so its order id is the case id. */
  const linkedNotices = (): PartnerNotification[] => state.linkedInstitutions.map((partnerId) => ({
    partnerId, event: 'case.notice', orderId: caseId, case: linkedInstitutionNotice(state),
  }));

  /** The next deadline of the current state, with what happens when it passes. */
  function nextDeadline(): Deadline | null {
    const { supplement, survey } = state.deadlines;
    switch (state.status) {
      case 'awaiting_documents':
        return supplement ? { at: Date.parse(supplement), fire: () => withdraw('supplement_window_elapsed', 'system') } : null;
      case 'in_review': {
        const next = nextStepOfReviews(state.reviews);
        if (!next) return null;
        const step = { remind: remindReviewer, escalate: escalateReview, search: (d: Department) => requestReviews([d]) }[next.step];
        return { at: next.at, fire: () => step(next.department) };
      }
      case 'awaiting_survey':
        return survey ? { at: Date.parse(survey), fire: () => { record('survey_expired', 'system'); close('no_response'); } } : null;
      default:
        return null;
    }
  }

  // ---- the main loop ----

  if (kernel.resumed) {
    // a continued run: intake and acceptance were recorded by the first run
  } else {
    openCase();
  }

  function openCase(): void {
    record('intake', input.openedBy, {
      businessType: state.businessType, delivery: state.delivery, documents: state.documents, community: state.community,
      linkedInstitutions: state.linkedInstitutions, applicants: state.applicants.length, sla: sla.source,
    });
    if (state.missingDocuments.length === 0) return accept();
    // 一次性告知: everything missing, told at once.
    state.deadlines = { supplement: dueAt('supplement', sla.supplementWindowMs) };
    record('documents_missing', 'system', {
      missingDocuments: state.missingDocuments, names: state.missingDocuments.map((code) => DOCUMENTS[code]),
      supplementDeadline: state.deadlines.supplement,
    });
  }

  const final = await kernel.runUntilFinished({
    work: async () => {
      if (chain && (await chain.sendNotices())) return true;
      if (state.status === 'in_review' && reviewsToSend.length > 0) {
        await sendReviewRequests(reviewsToSend.splice(0).map((r) => reviewRequest(r.department, r.partnerName, { assigned: true })));
      } else if (state.status === 'in_review' && reviewsToRequest.length > 0) await requestReviews(reviewsToRequest.splice(0));
      else if (state.status === 'issuing') await issueCertificate();
      else return false;
      return true;
    },
    nextDeadline: () => sooner(nextDeadline(), chain?.nextStep() ?? null),
  });
  if (chain && (await chain.sendNotices())) await kernel.flush();
  // A low survey score's escalation climbs until someone takes it on or it is at the top (docs/sla-clocks.md).
  if (chain?.climbing && patched(CLIMB_AFTER_CLOSE_PATCH)) await chain.climbAfterEnd(() => kernel.flush());
  return final;
}
