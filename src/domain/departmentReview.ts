/**
 * 并行办理: the rules of one department's review of a registration case. A review is
 * reminded at half of `reviewTimeout` and escalated at its end, then still waited for.
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
}

export type DepartmentReviews = Partial<Record<Department, DepartmentReview>>;

export function openReview(orderId: string, nowMs: number, reviewTimeoutMs: number): DepartmentReview {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    status: 'pending', partnerId: null, orderId, requestedAt: iso(nowMs),
    remindAt: iso(nowMs + Math.floor(reviewTimeoutMs / 2)), dueAt: iso(nowMs + reviewTimeoutMs),
    reminded: false, overdue: false, reason: null, answeredAt: null,
  };
}

export function pendingReviews(reviews: DepartmentReviews): [Department, DepartmentReview][] {
  return (Object.entries(reviews) as [Department, DepartmentReview][]).filter(([, r]) => r.status === 'pending');
}

/** What happens next to an unanswered review, and when: a reminder, then the escalation; nothing after that. */
export function nextReviewStep(review: DepartmentReview): { at: number; step: 'remind' | 'escalate' } | null {
  if (review.status !== 'pending' || review.overdue) return null;
  return review.reminded ? { at: Date.parse(review.dueAt), step: 'escalate' } : { at: Date.parse(review.remindAt), step: 'remind' };
}

/** The soonest step over all pending reviews. */
export function nextStepOfReviews(reviews: DepartmentReviews): { department: Department; at: number; step: 'remind' | 'escalate' } | null {
  let next: { department: Department; at: number; step: 'remind' | 'escalate' } | null = null;
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
