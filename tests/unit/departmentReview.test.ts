/** The pure rules of a department review: reminder, escalation, and the search for a reviewer. */
import {
  nextReviewStep, openReview, REVIEWER_SEARCH_FIRST_MS, REVIEWER_SEARCH_MAX_MS, reviewerSearchDelayMs, searchAgain, sendReviewTo,
} from '../../src/domain/departmentReview';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const t0 = Date.parse('2026-03-02T01:00:00.000Z');

describe('the search for a reviewer', () => {
  it('waits 5, 10, 20, 40 minutes, then an hour each time, however long it goes on', () => {
    expect([0, 1, 2, 3, 4, 5, 50, 5000].map(reviewerSearchDelayMs)).toEqual([
      5 * MINUTE, 10 * MINUTE, 20 * MINUTE, 40 * MINUTE, HOUR, HOUR, HOUR, HOUR,
    ]);
    expect(REVIEWER_SEARCH_FIRST_MS).toBe(5 * MINUTE);
    expect(REVIEWER_SEARCH_MAX_MS).toBe(HOUR);
  });

  it('is the next step of a review without reviewer (no reminder), with the escalation at its timeout in between', () => {
    const review = openReview('order-1', t0, 2 * HOUR);
    expect(nextReviewStep(review)).toEqual({ at: t0 + HOUR, step: 'remind' }); // an old-style review: no search
    searchAgain(review, t0);
    expect(review).toMatchObject({ searches: 1, nextSearchAt: new Date(t0 + 5 * MINUTE).toISOString() });
    expect(nextReviewStep(review)).toEqual({ at: t0 + 5 * MINUTE, step: 'search' });
    for (let now = t0 + 5 * MINUTE; now < t0 + 2 * HOUR - HOUR; now = Date.parse(review.nextSearchAt!)) searchAgain(review, now);
    // next search at 75 minutes, before the 2 h timeout; then at 135 minutes: the escalation comes first
    expect(nextReviewStep(review)).toEqual({ at: t0 + 75 * MINUTE, step: 'search' });
    searchAgain(review, t0 + 75 * MINUTE);
    expect(nextReviewStep(review)).toEqual({ at: t0 + 2 * HOUR, step: 'escalate' });
    review.overdue = true;
    expect(nextReviewStep(review)).toEqual({ at: t0 + 135 * MINUTE, step: 'search' }); // still searched for
  });

  it('ends when the review goes to a partner, who gets a whole review timeout from then', () => {
    const review = openReview('order-1', t0, 2 * HOUR);
    searchAgain(review, t0);
    review.overdue = true;
    review.reminded = true;
    const later = t0 + 5 * HOUR;
    sendReviewTo(review, 'housing-bureau', 'order-1', later, 2 * HOUR);
    expect(review).toMatchObject({
      status: 'pending', partnerId: 'housing-bureau', orderId: 'order-1', nextSearchAt: null, overdue: false, reminded: false,
      requestedAt: new Date(later).toISOString(), dueAt: new Date(later + 2 * HOUR).toISOString(),
    });
    expect(nextReviewStep(review)).toEqual({ at: later + HOUR, step: 'remind' });
  });

  it('has no step for an answered review', () => {
    const review = openReview('order-1', t0, 2 * HOUR);
    searchAgain(review, t0);
    review.status = 'approved';
    expect(nextReviewStep(review)).toBeNull();
  });
});
