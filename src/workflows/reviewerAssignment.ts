/**
 * A supervisor sends a pending review of a registration case to another partner of the
 * same department (`POST /v1/registrations/{id}/reviews/{department}/assign`): the old
 * reviewer's request is withdrawn and it is told (`order.withdrawn`), the new one gets its
 * own request with a new order id and a whole review timeout. The API has checked that the
 * partner is an active partner of that department; the validator checks the case.
 */
import { patched, setHandler, uuid4 } from '@temporalio/workflow';
import { pendingReviews, sendReviewTo } from '../domain/departmentReview';
import type { RegistrationMemory, RegistrationState } from '../domain/registration';
import type { CaseKernel } from './caseKernel';
import * as m from './messages';
import { ASSIGNED_REVIEW_ON_CALENDAR } from './registrationPatches';
import { invalidState } from './validation';

type RegistrationKernel = CaseKernel<'registration', RegistrationState, RegistrationMemory>;

/**
 * Register the `assignReviewer` update; the review request itself goes out from the main loop
 * (`memory.reviewsToSend`). `onCalendar`: when a span of the policy's time from an instant ends,
 * for a case on the working-day clocks (absent: wall-clock).
 */
export function handleReviewerAssignment(
  kernel: RegistrationKernel, reviewTimeoutMs: number, onCalendar?: (fromMs: number, ms: number) => number,
): void {
  const { state, memory } = kernel;
  setHandler(m.assignReviewer, ({ department, partnerId, partnerName, actor }) => {
    const review = state.reviews[department]!;
    const from = review.partnerId;
    if (from) {
      kernel.record('review_withdrawn', 'system', { department, partnerId: from, orderId: review.orderId, reason: 'reassigned' });
      kernel.queueNotification({ partnerId: from, event: 'order.withdrawn', orderId: review.orderId, case: { department, reason: 'reassigned' } });
    }
    // A new order id: the old reviewer's request (or its reminder) still being delivered is then moot and cancelled.
    const orderId = from ? uuid4() : review.orderId;
    kernel.record('review_reassigned', actor, { department, from, to: partnerId, orderId });
    // Cases assigned before the patch counted the new reviewer's timeout in wall-clock time (replay).
    const dueAfter = onCalendar && patched(ASSIGNED_REVIEW_ON_CALENDAR) ? onCalendar : undefined;
    sendReviewTo(review, partnerId, orderId, Date.now(), reviewTimeoutMs, dueAfter);
    memory.reviewsToRequest.splice(0, memory.reviewsToRequest.length, ...memory.reviewsToRequest.filter((d) => d !== department));
    (memory.reviewsToSend ??= []).push({ department, partnerName });
    state.overdue = pendingReviews(state.reviews).some(([, r]) => r.overdue);
    return state;
  }, {
    validator: ({ department, partnerId }: m.AssignReviewer) => {
      kernel.require('assign_reviewer', 'assign a reviewer of');
      const review = state.reviews[department];
      if (!review) throw invalidState(state.status, `the case has no ${department} review`);
      if (review.status !== 'pending') throw invalidState(state.status, `the ${department} review was already answered (${review.status})`);
      if (review.partnerId === partnerId) throw invalidState(state.status, `the ${department} review is already with partner ${partnerId}`);
    },
  });
}
