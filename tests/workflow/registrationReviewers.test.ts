/**
 * Who reviews a registration case, on the time-skipping server: a supervisor moving a
 * pending review to another partner of the department, and a department without an
 * active partner, searched for on a growing timer until one appears.
 */
import type { Pool } from 'pg';
import { withSlaClock } from '../../src/api/slaClock';
import type { RegistrationIntake } from '../../src/domain/registration';
import { REVIEWER_SEARCH_MAX_MS } from '../../src/domain/departmentReview';
import { resolveRegistrationSla } from '../../src/domain/sla';
import * as m from '../../src/workflows/messages';
import { testServerStartingAt } from '../support/fakeClock';
import { DAY, HOUR, MINUTE, REVIEWERS, rejection, type RegistrationCase, type RegistrationTestBed, startRegistrationTestBed } from './registrationTestBed';
import { writeHistoryFile } from './support';

let bed: RegistrationTestBed;
beforeAll(async () => { bed = await startRegistrationTestBed(); });
afterAll(async () => { await bed?.stop(); });

/** With RECORD_HISTORIES=1, keep the finished case's history for the replay tests (tests/replay). */
async function keepHistory(name: string, c: RegistrationCase): Promise<void> {
  if (process.env.RECORD_HISTORIES === '1') await writeHistoryFile(name, await c.handle.fetchHistory());
}

const span = (from: string, to: string) => Date.parse(to) - Date.parse(from);

const mortgage = (): RegistrationIntake => ({
  applicants: [{ name: '李秀英', idNumber: '22040219330512002X', phone: '13904370000' }],
  property: { address: '辽源市龙山区向阳街12号' }, businessType: 'mortgage', delivery: 'window',
  documents: ['applicant_id', 'property_certificate', 'mortgage_contract', 'loan_contract'],
});

async function finish(c: RegistrationCase): Promise<void> {
  await c.world.waitForStatus('awaiting_delivery');
  await c.delivered();
  expect((await c.survey(4)).status).toBe('closed');
  await c.result();
}

describe('a supervisor sends a pending review to another department partner', () => {
  it('withdraws the old request (the old reviewer is told), sends a new one, and takes the answer from the new reviewer only', async () => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    await bed.advance(30 * MINUTE);
    const before = (await c.state()).reviews.housing!;

    const moved = await c.assign('housing', 'housing-bureau-east');
    const review = moved.reviews.housing!;
    expect(review).toMatchObject({ status: 'pending', partnerId: 'housing-bureau-east', reminded: false, overdue: false });
    expect(review.orderId).not.toBe(before.orderId);
    expect(span(review.requestedAt, review.dueAt)).toBe(2 * HOUR); // a whole review timeout for the new reviewer
    expect(Date.parse(review.requestedAt)).toBeGreaterThanOrEqual(Date.parse(before.requestedAt) + 30 * MINUTE);

    const withdrawn = await c.world.waitForWebhook(REVIEWERS.housing, 'order.withdrawn');
    expect(withdrawn).toMatchObject({ orderId: before.orderId, case: { department: 'housing', reason: 'reassigned' } });
    const request = await c.world.waitForWebhook('housing-bureau-east', 'review.requested');
    expect(request).toMatchObject({ orderId: review.orderId, deadline: review.dueAt, case: { department: 'housing', businessType: 'mortgage' } });
    const requested = await c.world.until('the new request in the timeline', () =>
      c.world.events('review_requested').find((e) => e.data.partnerId === 'housing-bureau-east'));
    expect(requested.data).toMatchObject({ department: 'housing', orderId: review.orderId, assigned: true, partnerName: 'housing office housing-bureau-east' });
    expect(c.world.events('review_reassigned')[0]).toMatchObject({
      actor: 'supervisor:lead-1', data: { department: 'housing', from: REVIEWERS.housing, to: 'housing-bureau-east', orderId: review.orderId },
    });

    // The old reviewer may no longer answer; the new one may. The other reviews were not touched.
    expect((await rejection(c.review('housing', true))).type).toBe(m.FAILURE_NOT_YOUR_ORDER);
    expect((await rejection(c.assign('housing', 'housing-bureau-east'))).type).toBe(m.FAILURE_INVALID_STATE);
    await c.world.until('the new request recorded as delivered', () =>
      c.world.events('notification_delivered').some((e) => e.data.orderId === review.orderId));
    await c.review('housing', true, undefined, 'housing-bureau-east');
    expect(c.world.sent(REVIEWERS.tax, 'order.withdrawn')).toHaveLength(0);
    await c.review('tax', true);
    expect((await rejection(c.assign('tax', 'tax-bureau-east'))).type).toBe(m.FAILURE_INVALID_STATE); // answered already
    expect((await c.review('natural_resources', true)).status).toBe('issuing');
    await finish(c);
    await keepHistory('registration-review-reassigned', c);
  });

  it('is refused (409, naming the state) when the case is not in review', async () => {
    const c = await bed.open({ ...mortgage(), documents: ['applicant_id'] });
    await c.world.waitForEvent('documents_missing');
    const refused = await rejection(c.assign('tax', 'tax-bureau-east'));
    expect(refused.type).toBe(m.FAILURE_INVALID_STATE);
    expect(refused.details?.[0]).toEqual({ status: 'awaiting_documents' });
  });
});

describe('a department with no active reviewer', () => {
  it('is searched for on a growing timer (a bounded history) and gets its request once a partner is there', async () => {
    const c = await bed.open(mortgage(), { ...REVIEWERS, housing: null });
    const escalated = await c.world.waitForEvent('escalated');
    expect(escalated.data).toMatchObject({ reason: 'no_reviewer', department: 'housing' });
    expect(span(escalated.at, escalated.data.nextSearchAt as string)).toBe(5 * MINUTE);
    await c.reviewsRequestedBy(['tax', 'natural_resources']);

    // Three days without anyone: searched for at 5, 15, 35, 75 minutes, then hourly; escalated once at the timeout.
    await bed.advance(3 * DAY);
    const lookups = c.world.reviewerLookups.housing!;
    expect(lookups).toBeGreaterThanOrEqual(3 * DAY / REVIEWER_SEARCH_MAX_MS - 2);
    expect(lookups).toBeLessThanOrEqual(3 * DAY / REVIEWER_SEARCH_MAX_MS + 5);
    const waiting = await c.state();
    expect(waiting.reviews.housing).toMatchObject({ status: 'pending', partnerId: null, overdue: true, searches: lookups });
    expect(waiting).toMatchObject({ status: 'in_review', overdue: true });
    const housingEscalations = c.world.events('escalated').filter((e) => e.data.department === 'housing');
    expect(housingEscalations.map((e) => e.data.reason)).toEqual(['no_reviewer', 'review_overdue']);
    const { historyLength } = await c.handle.describe();
    expect(historyLength).toBeLessThan(lookups * 15 + 200); // about a dozen events a search, not a burst

    // A housing partner is there now: the next search finds it and the request goes out, with a whole timeout.
    c.world.reviewers.housing = 'housing-bureau-2';
    await bed.advance(REVIEWER_SEARCH_MAX_MS + MINUTE);
    const request = await c.world.waitForWebhook('housing-bureau-2', 'review.requested');
    const found = await c.state();
    expect(found.reviews.housing).toMatchObject({ partnerId: 'housing-bureau-2', overdue: false, reminded: false, nextSearchAt: null });
    expect(request.deadline).toBe(found.reviews.housing!.dueAt);
    expect(span(found.reviews.housing!.requestedAt, found.reviews.housing!.dueAt)).toBe(2 * HOUR);
    expect(found.overdue).toBe(true); // tax and natural resources are still overdue
    const requested = await c.world.until('the request in the timeline', () =>
      c.world.events('review_requested').find((e) => e.data.partnerId === 'housing-bureau-2'));
    expect(requested.data).toMatchObject({ department: 'housing', searches: lookups });

    await c.world.until('the request recorded as delivered', () =>
      c.world.events('notification_delivered').some((e) => e.data.partnerId === 'housing-bureau-2'));
    await c.review('tax', true);
    await c.review('natural_resources', true);
    expect((await c.review('housing', true, undefined, 'housing-bureau-2'))).toMatchObject({ status: 'issuing', overdue: false });
    await finish(c);
    await keepHistory('registration-reviewer-search', c);
  });

  it('can be given a reviewer by a supervisor while it is searched for', async () => {
    const c = await bed.open(mortgage(), { ...REVIEWERS, tax: null });
    await c.world.waitForEvent('escalated');
    await bed.advance(20 * MINUTE);
    const assigned = await c.assign('tax', 'tax-bureau-west');
    expect(assigned.reviews.tax).toMatchObject({ partnerId: 'tax-bureau-west', nextSearchAt: null });
    await c.world.waitForWebhook('tax-bureau-west', 'review.requested');
    const lookups = c.world.reviewerLookups.tax;
    await bed.advance(2 * REVIEWER_SEARCH_MAX_MS);
    expect(c.world.reviewerLookups.tax).toBe(lookups); // the search stopped
    expect(c.world.sent('tax-bureau-west', 'order.reminder')).toHaveLength(1); // reminded as any reviewer is
  });
});

/**
 * A reviewer a supervisor assigns by hand gets the review timeout on the policy's calendar
 * (the assigned-review-on-calendar patch), as a review sent at acceptance does: on a test
 * server whose clock starts on Friday 16 October 2026 (tests/support/fakeClock.ts).
 */
describe('a review assigned by hand in a case on cn-office', () => {
  let friday: RegistrationTestBed;
  afterAll(async () => { await friday?.stop(); });

  it('is due 2 working hours after the assignment: Friday 15:50 Beijing -> Monday 08:50, reminded at Friday 16:50', async () => {
    friday = await startRegistrationTestBed({ serverPath: await testServerStartingAt('2026-10-16T07:00:00Z') });
    const policy = resolveRegistrationSla([{
      caseType: 'registration', supplementWindow: 'P15D', reviewTimeout: 'PT2H', completionTarget: 'PT20M', surveyWindow: 'P7D', calendar: 'cn-office',
    }]);
    const sla = await withSlaClock(undefined as unknown as Pool, policy, await friday.now(), false);
    const c = await friday.open(mortgage(), REVIEWERS, { sla });
    await c.reviewsRequested();
    const atStart = (await c.state()).reviews.housing!;
    // Sent at acceptance, Friday 15:00 Beijing: due at 17:00 the same day.
    expect(span(atStart.requestedAt, atStart.dueAt)).toBe(2 * HOUR);

    // 15:50 Beijing, before the reminders of 16:00 go out.
    const at = Date.parse('2026-10-16T07:50:00Z') - (await friday.now());
    if (at > 0) await friday.advance(at);
    const moved = await c.assign('housing', 'housing-bureau-east');
    const review = moved.reviews.housing!;
    // 15:50-17:30 on Friday, the weekend off, 08:30-08:50 on Monday 19 October; wall-clock time would say Friday 17:50.
    const drift = (actual: string, expected: string) => Date.parse(actual) - Date.parse(expected);
    expect(drift(review.dueAt, '2026-10-19T00:50:00Z')).toBeGreaterThanOrEqual(0);
    expect(drift(review.dueAt, '2026-10-19T00:50:00Z')).toBeLessThan(5000);
    expect(drift(review.remindAt, '2026-10-16T08:50:00Z')).toBeGreaterThanOrEqual(0);
    expect(drift(review.remindAt, '2026-10-16T08:50:00Z')).toBeLessThan(5000);
    const request = await c.world.waitForWebhook('housing-bureau-east', 'review.requested');
    expect(request.deadline).toBe(review.dueAt);

    // Saturday evening: the housing review is not overdue (the other two, due Friday 17:00, are).
    await friday.advance(Date.parse('2026-10-17T12:00:00Z') - (await friday.now()));
    const saturday = await c.state();
    expect(saturday.reviews.housing).toMatchObject({ overdue: false, reminded: true });
    expect(c.world.events('overdue').map((e) => e.data.department).sort()).toEqual(['natural_resources', 'tax']);

    await c.world.until('the new request recorded as delivered', () =>
      c.world.events('notification_delivered').some((e) => e.data.orderId === review.orderId));
    await c.review('housing', true, undefined, 'housing-bureau-east');
    await c.review('tax', true);
    await c.review('natural_resources', true);
    await finish(c);
    await keepHistory('registration-review-reassigned-on-calendar', c);
  });
});
