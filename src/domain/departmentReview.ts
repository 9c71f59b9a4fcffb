/**
 * 并行办理: the rules of one department's review of a registration case. A review is
 * reminded at half of `reviewTimeout` and escalated at its end, then still waited for.
 * A review nobody can take (no active partner of the department) is looked for again on a
 * growing timer until someone can (docs/registration.md, "Reviewers").
 */
import type { Department } from './vocabulary';

export type ReviewStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn';

export interface DepartmentReview {
  status: ReviewStatus;
  /** The department partner the review was sent to; null while none is available. */
  partnerId: string | null;
  /** Stable id of this review request: the `orderId` of its webhooks. */
  orderId: string;
  requestedAt: string;
  remindAt: string;
  dueAt: string;
  reminded: boolean;
  /** Past `dueAt` unanswered: escalated, still waited for. */
  overdue: boolean;
  reason: string | null;
  answeredAt: string | null;
  /**
   * While no partner of the department could take the review: when it is looked for next,
   * and how many searches found nobody. Absent on reviews of cases from before the
   * `reviewer-search` patch (those looked again at the reminder and the timeout only).
   */
  nextSearchAt?: string | null;
  searches?: number;
}

export type DepartmentReviews = Partial<Record<Department, DepartmentReview>>;

/** `dueAfter`: when a span of the policy's time from an instant ends (working time on its calendar; wall-clock by default). */
export function openReview(
  orderId: string, nowMs: number, reviewTimeoutMs: number, dueAfter: (fromMs: number, ms: number) => number = (f, ms) => f + ms,
): DepartmentReview {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    status: 'pending', partnerId: null, orderId, requestedAt: iso(nowMs),
    remindAt: iso(dueAfter(nowMs, Math.floor(reviewTimeoutMs / 2))), dueAt: iso(dueAfter(nowMs, reviewTimeoutMs)),
    reminded: false, overdue: false, reason: null, answeredAt: null,
  };
}

export function pendingReviews(reviews: DepartmentReviews): [Department, DepartmentReview][] {
  return (Object.entries(reviews) as [Department, DepartmentReview][]).filter(([, r]) => r.status === 'pending');
}

export type ReviewStep = 'remind' | 'escalate' | 'search';

/** The first search for a reviewer comes this long after nobody was found; each further one waits twice as long... */
export const REVIEWER_SEARCH_FIRST_MS = 5 * 60_000;
/** ...up to this: a review without a reviewer costs a case at most ~24 searches a day, however long it waits. */
export const REVIEWER_SEARCH_MAX_MS = 60 * 60_000;

/** How long to wait before search number `searches + 1` (5, 10, 20, 40, 60, 60, ... minutes). */
export function reviewerSearchDelayMs(searches: number): number {
  return Math.min(REVIEWER_SEARCH_FIRST_MS * 2 ** Math.min(searches, 20), REVIEWER_SEARCH_MAX_MS);
}

/** Nobody could take the review: look again later (the delay grows with each search that found nobody). */
export function searchAgain(review: DepartmentReview, nowMs: number): void {
  review.nextSearchAt = new Date(nowMs + reviewerSearchDelayMs(review.searches ?? 0)).toISOString();
  review.searches = (review.searches ?? 0) + 1;
}

/**
 * The review goes to `partnerId` now (found late by a search, or assigned by a supervisor):
 * it gets a whole review timeout from now, as a review sent at acceptance does.
 */
export function sendReviewTo(
  review: DepartmentReview, partnerId: string, orderId: string, nowMs: number, reviewTimeoutMs: number,
  dueAfter?: (fromMs: number, ms: number) => number,
): void {
  const { reason, answeredAt } = review;
  Object.assign(review, openReview(orderId, nowMs, reviewTimeoutMs, dueAfter), { partnerId, reason, answeredAt, nextSearchAt: null });
}

/**
 * What happens next to an unanswered review, and when: a reminder, then the escalation;
 * nothing after that. A review still without a reviewer has nobody to remind: it is
 * searched for on its own timer, and escalated at its timeout like any other.
 */
export function nextReviewStep(review: DepartmentReview): { at: number; step: ReviewStep } | null {
  if (review.status !== 'pending') return null;
  if (!review.partnerId && review.nextSearchAt) {
    const search = { at: Date.parse(review.nextSearchAt), step: 'search' as const };
    const due = Date.parse(review.dueAt);
    return !review.overdue && due <= search.at ? { at: due, step: 'escalate' } : search;
  }
  if (review.overdue) return null;
  return review.reminded ? { at: Date.parse(review.dueAt), step: 'escalate' } : { at: Date.parse(review.remindAt), step: 'remind' };
}

/** The soonest step over all pending reviews. */
export function nextStepOfReviews(reviews: DepartmentReviews): { department: Department; at: number; step: ReviewStep } | null {
  let next: { department: Department; at: number; step: ReviewStep } | null = null;
  for (const [department, review] of pendingReviews(reviews)) {
    const step = nextReviewStep(review);
    if (step && (!next || step.at < next.at)) next = { department, ...step };
  }
  return next;
}

/** The earliest due time of a pending review (breached ones included): the case's open `review` deadline. */
export function earliestPendingDue(reviews: DepartmentReviews): string | undefined {
  const due = pendingReviews(reviews).map(([, r]) => r.dueAt).sort();
  return due[0];
}

export const allApproved = (reviews: DepartmentReviews, departments: readonly Department[]): boolean =>
  departments.every((d) => reviews[d]?.status === 'approved');
