/**
 * 不动产登记 on the time-skipping server: every path of a registration case, with the
 * activities in memory (tests/workflow/registrationTestBed.ts).
 */
import type { RegistrationIntake } from '../../src/domain/registration';
import { CERTIFICATE_NO_PATTERN, shanghaiDate } from '../../src/domain/registration';
import { DEPARTMENTS } from '../../src/domain/vocabulary';
import * as m from '../../src/workflows/messages';
import { DAY, HOUR, MINUTE, REVIEWERS, rejection, type RegistrationCase, type RegistrationTestBed, startRegistrationTestBed, UNAVAILABLE_PARTNER } from './registrationTestBed';
import { caseRuns, untilQuiet } from '../support/caseRuns';
import { writeCaseHistories } from './caseTestBed';
import { writeHistoryFile } from './support';

let bed: RegistrationTestBed;
beforeAll(async () => { bed = await startRegistrationTestBed(); });
afterAll(async () => { await bed?.stop(); });

const applicants = [{ name: '李秀英', idNumber: '22040219330512002X', phone: '13904370000' }];
const property = { address: '辽源市龙山区向阳街12号', unitNo: '3-2-101', certificateNo: '吉(2019)辽源市不动产权第0004567号' };

/** With RECORD_HISTORIES=1, keep the finished case's history for the replay tests (tests/replay). */
async function keepHistory(name: string, c: RegistrationCase): Promise<void> {
  if (process.env.RECORD_HISTORIES === '1') await writeHistoryFile(name, await c.handle.fetchHistory());
}

/** Milliseconds from one ISO instant to another (workflow time; the server adds a few real ms between steps). */
const span = (from: string, to: string) => Date.parse(to) - Date.parse(from);

/** The bank mortgage of docs/domain.md: ID, property certificate, mortgage and loan contracts. */
const mortgage = (over: Partial<RegistrationIntake> = {}): RegistrationIntake => ({
  applicants, property, businessType: 'mortgage', delivery: 'window',
  documents: ['applicant_id', 'property_certificate', 'mortgage_contract', 'loan_contract'], ...over,
});

/** A sale, brought in without the sale contract and the tax receipt. */
const transferMissingTwo = (): RegistrationIntake => ({
  applicants, property, businessType: 'transfer', delivery: 'window', documents: ['applicant_id', 'property_certificate'],
});

describe('a complete application', () => {
  it('goes to the three departments at once and, all approved, gets its certificate inside 20 minutes', async () => {
    const c = await bed.open(mortgage());
    c.world.holdReviewRequestsForSiblings = true;
    const requests = await c.reviewsRequested();
    expect(c.world.maxInFlight).toBe(3); // the three review requests were out at the same time
    expect(requests.map((r) => r.case.department).sort()).toEqual([...DEPARTMENTS].sort());
    expect(requests[0].case).toMatchObject({ businessType: 'mortgage', applicants, property });
    const inReview = await c.state();
    expect(inReview).toMatchObject({ status: 'in_review', missingDocuments: [] });
    expect(span(inReview.createdAt, inReview.acceptedAt!)).toBeLessThan(MINUTE); // accepted at intake
    expect(span(inReview.acceptedAt!, inReview.reviews.tax!.dueAt)).toBe(2 * HOUR);
    expect((await c.world.waitForStatus('in_review')).deadlines.review).toBe(inReview.reviews.tax!.dueAt);

    await c.approveAll();
    const issued = await c.world.waitForStatus('awaiting_delivery');
    const s = await c.state();
    expect(s.certificateNo).toMatch(CERTIFICATE_NO_PATTERN);
    expect(s.certificateNo).toMatch(/^吉\(\d{4}\)辽源市不动产权第\d{7}号$/);
    expect(s).toMatchObject({ completionTargetMs: 20 * MINUTE, withinCompletionTarget: true });
    expect(s.timeToCertificateMs).toBe(span(s.acceptedAt!, s.certificateIssuedAt!));
    expect(s.sameDay).toBe(shanghaiDate(s.acceptedAt!) === shanghaiDate(s.certificateIssuedAt!));
    expect(issued).toMatchObject({
      type: 'registration', category: 'mortgage', acknowledgedAt: s.acceptedAt, completedAt: s.certificateIssuedAt,
      details: expect.objectContaining({
        certificateNo: s.certificateNo, timeToCertificateMs: s.timeToCertificateMs, completionTargetMs: 20 * MINUTE,
        withinCompletionTarget: true, sameDay: s.sameDay, applicants,
      }),
    });

    await c.delivered();
    const closed = await c.survey(5, '二十分钟就拿到了');
    expect(closed).toMatchObject({ status: 'closed', outcome: 'satisfied' });
    await c.result();
    expect(c.world.types()).toEqual(expect.arrayContaining(['intake', 'accepted', 'review_requested', 'review_approved', 'certificate_issued', 'delivered', 'survey', 'closed']));
    expect(c.world.types()).not.toContain('completion_target_breached');
    expect(await c.searchAttributes()).toMatchObject({ CaseType: 'registration', Category: 'mortgage', CaseStatus: 'closed', Overdue: false });
  });
});

describe('a low survey score (docs/sla-clocks.md)', () => {
  it('raises low_survey_score as the case closes; it climbs to level 3 after the close (default steps PT4H, P1D), then the workflow ends', async () => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    await c.approveAll();
    await c.world.waitForStatus('awaiting_delivery');
    await c.delivered();
    expect(await c.survey(1, '窗口让我跑了三趟')).toMatchObject({ status: 'closed', outcome: 'unsatisfied' });
    const raised = await c.world.waitForEvent('escalation_raised');
    expect(raised.data).toMatchObject({ reason: 'low_survey_score', level: 1 });
    const final = await c.result();
    expect(final.status).toBe('closed');
    expect(final.escalations).toEqual([expect.objectContaining({ reason: 'low_survey_score', level: 3, status: 'open', nextLevelAt: null })]);
    const climbs = c.world.events('escalation_level_raised');
    expect(climbs.map((e) => e.data.level)).toEqual([2, 3]);
    expect(span(raised.at, climbs[1].at)).toBeGreaterThanOrEqual(DAY);
    await keepHistory('registration-low-score-climbs-after-close', c);
  });
});

describe('the completeness check (一次性告知)', () => {
  it('tells every missing document at once, and starts the clock only when the supplement completes them', async () => {
    const c = await bed.open(transferMissingTwo());
    const missing = await c.world.waitForEvent('documents_missing');
    expect(missing.data).toMatchObject({ missingDocuments: ['sale_contract', 'tax_receipt'], names: ['不动产买卖合同', '完税凭证'] });
    const waiting = await c.state();
    expect(waiting.status).toBe('awaiting_documents');
    expect(span(waiting.createdAt, waiting.deadlines.supplement!)).toBeCloseTo(15 * DAY, -3);

    await bed.advance(3 * DAY);
    const partly = await c.supplement('sale_contract');
    expect(partly).toMatchObject({ status: 'awaiting_documents', missingDocuments: ['tax_receipt'] });
    expect(c.world.webhooks).toHaveLength(0);
    expect((await rejection(c.review('tax', true))).type).toBe(m.FAILURE_INVALID_STATE);

    await bed.advance(2 * DAY);
    const complete = await c.supplement('tax_receipt');
    expect(complete).toMatchObject({ status: 'in_review', missingDocuments: [] });
    expect(span(complete.createdAt, complete.acceptedAt!)).toBeGreaterThanOrEqual(5 * DAY);
    await c.reviewsRequested();
    await c.approveAll();
    await c.world.waitForStatus('awaiting_delivery');
    const s = await c.state();
    // Five days waiting on the applicant do not count against the 20 minutes.
    expect(s.withinCompletionTarget).toBe(true);
    expect(s.timeToCertificateMs!).toBeLessThan(20 * MINUTE);
  });

  it('withdraws the case when the supplement window ends', async () => {
    const c = await bed.open(transferMissingTwo());
    const final = await c.result();
    expect(final).toMatchObject({ status: 'withdrawn', withdrawal: { reason: 'supplement_window_elapsed', by: 'system' } });
    expect(span(final.createdAt, final.closedAt!)).toBeCloseTo(15 * DAY, -3);
    expect(c.world.webhooks).toHaveLength(0);
    expect(c.world.lastSnapshot).toMatchObject({ status: 'withdrawn', deadlines: {} });
    await keepHistory('registration-supplement-lapsed', c);
  });
});

describe('parallel review (并行办理)', () => {
  it.each(DEPARTMENTS)('a rejection by %s ends the case and withdraws the reviews still pending', async (department) => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    const other = DEPARTMENTS.find((d) => d !== department)!;
    await c.review(other, true);
    const rejected = await c.review(department, false, '权属存在争议');
    expect(rejected).toMatchObject({ status: 'rejected', rejection: { department, reason: '权属存在争议', partnerId: REVIEWERS[department] } });
    expect(rejected.reviews[department]).toMatchObject({ status: 'rejected', reason: '权属存在争议' });
    expect(rejected.reviews[other]!.status).toBe('approved');

    const pending = DEPARTMENTS.filter((d) => d !== department && d !== other);
    for (const d of pending) {
      expect(rejected.reviews[d]!.status).toBe('withdrawn');
      const withdrawn = await c.world.waitForWebhook(REVIEWERS[d], 'order.withdrawn');
      expect(withdrawn.orderId).toBe(rejected.reviews[d]!.orderId);
    }
    expect(c.world.sent(REVIEWERS[other], 'order.withdrawn')).toHaveLength(0);
    expect((await c.result()).status).toBe('rejected');
    expect(c.world.types()).toEqual(expect.arrayContaining(['review_rejected', 'review_withdrawn', 'rejected']));
    if (department === 'tax') await keepHistory('registration-rejected', c);
  });

  it('reminds a silent department at half the review timeout, escalates it at the end, and keeps waiting', async () => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    await c.review('tax', true);
    await c.review('housing', true);

    await bed.advance(61 * MINUTE);
    const reminder = await c.world.waitForWebhook(REVIEWERS.natural_resources, 'order.reminder');
    expect(reminder.case).toMatchObject({ department: 'natural_resources' });
    expect(c.world.sent(REVIEWERS.tax, 'order.reminder')).toHaveLength(0);
    expect(c.world.types()).not.toContain('escalated');

    await bed.advance(60 * MINUTE);
    const escalated = await c.world.waitForEvent('escalated');
    expect(escalated.data).toMatchObject({ reason: 'review_overdue', department: 'natural_resources' });
    expect(c.world.events('overdue')[0].data).toMatchObject({ kind: 'review', department: 'natural_resources' });
    const late = await c.state();
    expect(late).toMatchObject({ status: 'in_review', overdue: true });
    expect(c.world.lastSnapshot).toMatchObject({ overdue: true, deadlines: { review: late.reviews.natural_resources!.dueAt } });

    const answered = await c.review('natural_resources', true);
    expect(answered).toMatchObject({ status: 'issuing', overdue: false });
    await c.world.waitForStatus('awaiting_delivery');
    const s = await c.state();
    expect(s.withinCompletionTarget).toBe(false);
    expect(s.timeToCertificateMs!).toBeGreaterThan(2 * HOUR);
    expect((await c.world.waitForEvent('completion_target_breached')).data).toMatchObject({ completionTargetMs: 20 * MINUTE });
  });

  it('cancels a review request still being retried once the department has answered, and goes on', async () => {
    const taxBureau = `${UNAVAILABLE_PARTNER}tax-bureau`;
    const c = await bed.open(mortgage(), { ...REVIEWERS, tax: taxBureau });
    await c.world.until('a failed delivery to the tax bureau', () => c.world.failedDeliveries > 0);
    // The bureau saw the case in its own queue and answers; the request is moot.
    await c.review('tax', true, undefined, taxBureau);
    const cancelled = await c.world.waitForEvent('notification_cancelled');
    expect(cancelled.data).toMatchObject({ event: 'review.requested', partnerId: taxBureau });
    const failedAtAnswer = c.world.failedDeliveries;
    await bed.advance(5 * MINUTE); // past the backoff of every retry left
    expect(c.world.failedDeliveries).toBe(failedAtAnswer);
    expect(c.world.types()).not.toContain('notification_failed');

    await c.world.until('the other requests recorded as delivered', () =>
      c.world.events('notification_delivered').filter((e) => e.data.event === 'review.requested').length === 2);
    await c.review('housing', true);
    expect(await c.review('natural_resources', true)).toMatchObject({ status: 'issuing' });
    await c.world.waitForStatus('awaiting_delivery');
    await c.delivered();
    expect(await c.survey(5)).toMatchObject({ status: 'closed' });
    await c.handle.result();
    await keepHistory('registration-answered-while-delivering', c);
  });

  // A department without a reviewer, and a supervisor moving a review: registrationReviewers.test.ts.

  it('takes answers only from the partner the review was sent to, and a rejection only with its reason', async () => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    expect((await rejection(c.review('tax', true, undefined, REVIEWERS.housing))).type).toBe(m.FAILURE_NOT_YOUR_ORDER);
    expect((await rejection(c.review('tax', false))).type).toBe(m.FAILURE_BAD_REQUEST);
    await c.review('tax', true);
    expect((await c.review('tax', true)).reviews.tax!.status).toBe('approved'); // a repeated answer is harmless
    expect((await rejection(c.review('tax', false, '改主意了'))).type).toBe(m.FAILURE_INVALID_STATE);
  });
});

describe('delivery and linked services', () => {
  it("tells the bank and the provident fund as soon as the certificate is issued, and delivers by home visit", async () => {
    const institutions = ['icbc-liaoyuan', 'provident-fund'];
    const c = await bed.open(mortgage({ delivery: 'home_visit', linkedInstitutions: institutions }));
    await c.reviewsRequested();
    await c.approveAll();
    await c.world.waitForStatus('awaiting_delivery');
    // On record: the institutions hear of it now, days before the owner has the paper in hand.
    const issued = await c.state();
    for (const institution of institutions) {
      const notice = await c.world.waitForWebhook(institution, 'case.notice');
      expect(notice.orderId).toBe(c.world.caseId);
      expect(notice.case).toMatchObject({
        notice: 'registration_completed', businessType: 'mortgage', certificateNo: issued.certificateNo,
        certificateIssuedAt: issued.certificateIssuedAt, applicants: [{ name: '李秀英' }],
      });
      expect(notice.case.applicants[0].idNumber).toBeUndefined();
      expect(notice.case.deliveredAt).toBeUndefined();
    }
    await c.world.until('the notices recorded as delivered', () =>
      c.world.events('notification_delivered').filter((e) => e.data.event === 'case.notice').length === 2);
    const noticeSeqs = c.world.events('notification_delivered').filter((e) => e.data.event === 'case.notice').map((e) => e.seq);
    expect(Math.min(...noticeSeqs)).toBeGreaterThan(c.world.events('certificate_issued')[0].seq);
    expect((await rejection(c.survey(5))).type).toBe(m.FAILURE_INVALID_STATE);

    await bed.advance(2 * DAY);
    const delivered = await c.delivered('上门送证到家，93岁老人签收');
    expect(delivered).toMatchObject({ status: 'awaiting_survey', delivered: { method: 'home_visit', note: '上门送证到家，93岁老人签收' } });
    expect((await c.world.waitForEvent('delivered')).data).toMatchObject({ method: 'home_visit' });

    // No survey answer within the window: closed as no_response.
    const final = await c.result();
    expect(final).toMatchObject({ status: 'closed', outcome: 'no_response' });
    expect(span(final.delivered!.at, final.closedAt!)).toBeCloseTo(7 * DAY, -3);
    // Told once, at the certificate: not again at delivery.
    for (const institution of institutions) expect(c.world.sent(institution, 'case.notice')).toHaveLength(1);
    await keepHistory('registration-home-delivery-no-response', c);
  });
});

describe('cancellation', () => {
  it('withdraws a case waiting for documents', async () => {
    const c = await bed.open(transferMissingTwo());
    await c.world.waitForEvent('documents_missing');
    const withdrawn = await c.cancel('申请人撤回申请');
    expect(withdrawn).toMatchObject({ status: 'withdrawn', withdrawal: { reason: '申请人撤回申请', by: 'staff:window-1' } });
    expect((await c.result()).status).toBe('withdrawn');
    await keepHistory('registration-cancelled-awaiting-documents', c);
  });

  it('withdraws a case in review and tells the departments still reviewing', async () => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    await c.review('tax', true);
    const withdrawn = await c.cancel('双方协商解除抵押');
    expect(withdrawn.status).toBe('withdrawn');
    await c.world.waitForWebhook(REVIEWERS.housing, 'order.withdrawn');
    await c.world.waitForWebhook(REVIEWERS.natural_resources, 'order.withdrawn');
    expect(c.world.sent(REVIEWERS.tax, 'order.withdrawn')).toHaveLength(0);
  });

  it('refuses to cancel once the certificate is issued', async () => {
    const c = await bed.open(mortgage());
    await c.reviewsRequested();
    await c.approveAll();
    await c.world.waitForStatus('awaiting_delivery');
    const refused = await rejection(c.cancel('太晚了'));
    expect(refused.type).toBe(m.FAILURE_INVALID_STATE);
    expect(refused.details?.[0]).toEqual({ status: 'awaiting_delivery' });
  });
});

describe('a long-lived registration case', () => {
  it('continues as new (forced early) with its reviews, memory and numbering, and ends closed with one whole timeline', async () => {
    const c = await bed.open(transferMissingTwo(), REVIEWERS, { continueAsNewAfterEvents: 25 });
    const quiet = () => untilQuiet(bed.env.client, c.handle.workflowId);
    await c.world.waitForEvent('documents_missing');
    await quiet();
    await c.supplement('sale_contract');
    await quiet();
    await c.supplement('tax_receipt');
    await c.reviewsRequested();
    await quiet();
    for (const department of DEPARTMENTS) {
      await c.review(department, true);
      await quiet();
    }
    await c.world.waitForStatus('awaiting_delivery');
    await quiet();
    await c.delivered('窗口领证');
    await quiet();
    expect((await c.survey(5)).status).toBe('closed');
    const final = await c.result();
    expect(final).toMatchObject({ status: 'closed', outcome: 'satisfied', certificateNo: expect.stringMatching(CERTIFICATE_NO_PATTERN) });

    const runs = await caseRuns(bed.env.client, c.handle.workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    const seqs = c.world.timeline.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(c.world.types().filter((t) => t === 'intake' || t === 'accepted')).toEqual(['intake', 'accepted']);
    expect(c.world.events('review_requested')).toHaveLength(3);
    expect(c.world.events('certificate_issued')).toHaveLength(1);
    if (process.env.RECORD_HISTORIES === '1') await writeCaseHistories(bed.env, 'registration-continued-as-new', c.handle.workflowId);
  });
});
