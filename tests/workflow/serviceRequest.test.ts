/**
 * 民生诉求, the resident request workflow, on the time-skipping test server with the
 * activities faked in memory (tests/workflow/support.ts). Each test is a story of
 * docs/domain.md: the seed's old man whose power fails, and the partners, staff and
 * supervisor who carry his request from intake to the satisfaction survey.
 *
 * SLA of every case (REPAIR_SLA): reminder after 10 minutes, acknowledgement within 30,
 * fulfilment within 24 hours, follow-up visit due 2 days after completion, survey window
 * 7 days, at most 3 partners per dispatch round.
 *
 * `RECORD_HISTORIES=1 npx jest tests/workflow/serviceRequest.test.ts` also writes the
 * histories of the main shapes to tests/replay/histories/ (see tests/replay/replay.test.ts).
 */
import type { ServiceRequestState } from '../../src/domain/serviceRequest';
import { eventually } from '../support/eventually';
import {
  DAY, HOUR, MINUTE, partner, recordHistoryIfAsked, rejection, type ServiceRequestCase, startWorkflowTestBed,
  type WorkflowTestBed,
} from './support';

const steward = partner('property-steward', '物业公司 · 网格管家');
const rescueTeam = partner('rescue-team', '社区救援队');
const volunteers = partner('volunteer-electricians', '志愿服务队 · 电工组');
const clinic = partner('community-clinic', '社区诊所');
const eldercare = partner('eldercare-company', '养老服务公司');

let bed: WorkflowTestBed;
beforeAll(async () => { bed = await startWorkflowTestBed(); });
afterEach(async () => { await bed?.finishCases(); });
afterAll(async () => { await bed?.stop(); });

const iso = (ms: number) => new Date(ms).toISOString();
const at = (isoTime: string | null | undefined) => Date.parse(isoTime!);

/** The timeline is numbered 1..n without gaps or repeats, and the last case row the read model got is the final state. */
function expectTimelineToMatch(c: ServiceRequestCase, state: ServiceRequestState): void {
  const { timeline, lastSnapshot } = c.world;
  expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, i) => i + 1));
  const times = timeline.map((e) => Date.parse(e.at));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(lastSnapshot).toMatchObject({
    id: c.world.caseId, workflowId: c.workflowId, status: state.status, partnerId: state.assignedPartnerId,
    overdue: state.overdue, reopenCount: state.reopenCount, dispatchAttempts: state.dispatchAttempts,
    acknowledgedAt: state.acknowledgedAt, completedAt: state.completedAt, closedAt: state.closedAt,
    outcome: state.outcome, satisfaction: state.survey?.score ?? null,
  });
  const d = state.deadlines;
  // The clocks' own kinds (the next escalation step, a hold's maxHold) are checked in tests/workflow/slaClocks.test.ts.
  const { escalation: _e, hold: _h, ...caseDeadlines } = lastSnapshot!.deadlines;
  expect(caseDeadlines).toEqual(JSON.parse(JSON.stringify({
    ack: d.ack, fulfilment: d.fulfilment, follow_up: d.followUp, survey: d.survey,
  })));
}

/** The case brought to `awaiting_follow_up` by the steward (dispatched, accepted, completed). */
async function completedBySteward(partners = [steward, rescueTeam]): Promise<ServiceRequestCase> {
  const c = await bed.openCase({ partners });
  await c.dispatchedTo(steward.partnerId);
  await c.accept(steward.partnerId);
  await c.complete(steward.partnerId, '换了空气开关，恢复供电', 2);
  return c;
}

describe('an accepted order, start to finish', () => {
  it('the steward accepts, fixes the power the same day, the follow-up visit confirms it and a score of 5 closes the case satisfied', async () => {
    const c = await bed.openCase({ partners: [steward, rescueTeam] });

    // 派单: the best partner is offered the order, with what it needs to serve the resident.
    const order = await c.dispatchedTo(steward.partnerId);
    const dispatchedAt = at(c.world.events('dispatched')[0].at);
    expect(order).toMatchObject({
      deliveryId: `${c.workflowId}:1`,
      deadline: iso(dispatchedAt + 30 * MINUTE),
      case: {
        category: 'housing', urgency: 'urgent', channel: 'home_visit',
        resident: expect.objectContaining({ name: '王大爷', grid: 'G3', flags: ['elderly_alone'] }),
      },
    });
    let state = await c.state();
    expect(state).toMatchObject({
      status: 'awaiting_ack', assignedPartnerId: steward.partnerId, currentOrderId: order.orderId, dispatchAttempts: 1,
      deadlines: { ack: iso(dispatchedAt + 30 * MINUTE), reminder: iso(dispatchedAt + 10 * MINUTE) },
    });
    expect(await c.searchAttributes()).toEqual({
      CaseType: 'service_request', Category: 'housing', Community: '幸福社区',
      CaseStatus: 'awaiting_ack', PartnerId: steward.partnerId, Overdue: false,
    });

    await bed.advance(5 * MINUTE);
    state = await c.accept(steward.partnerId);
    expect(state.status).toBe('in_progress');
    expect(at(state.acknowledgedAt) - dispatchedAt).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(state.deadlines).toEqual({ fulfilment: iso(at(state.acknowledgedAt) + DAY) });

    state = await c.progress(steward.partnerId, '缺一个空气开关，师傅自己去五金店买');
    expect(state.status).toBe('in_progress');

    await bed.advance(3 * HOUR);
    state = await c.complete(steward.partnerId, '买了配件，当天修好', 3);
    expect(state).toMatchObject({
      status: 'awaiting_follow_up', overdue: false,
      completion: { note: '买了配件，当天修好', hoursSpent: 3 },
    });
    expect(state.deadlines).toEqual({ followUp: iso(at(state.completedAt) + 2 * DAY) });

    await bed.advance(DAY);
    state = await c.followUp(true, '回访：电路正常，老人满意');
    const visit = await c.world.waitForEvent('follow_up');
    expect(state).toMatchObject({ status: 'awaiting_survey', deadlines: { survey: iso(at(visit.at) + 7 * DAY) } });

    state = await c.survey(5, '师傅当天就修好了');
    expect(state).toMatchObject({ status: 'closed', outcome: 'satisfied', survey: { score: 5 }, deadlines: {} });

    const final = await c.result();
    expect(final).toMatchObject({ status: 'closed', outcome: 'satisfied', closedAt: state.closedAt, assignedPartnerId: steward.partnerId });
    expect(c.world.types()).toEqual([
      'intake', 'dispatched', 'notification_delivered', 'accepted', 'progress', 'completed', 'follow_up', 'survey', 'closed',
    ]);
    expect(c.world.events('intake')[0]).toMatchObject({ actor: 'staff:grid-leader', data: { category: 'housing', urgency: 'urgent' } });
    expect(c.world.events('progress')[0]).toMatchObject({ actor: 'partner:property-steward', data: { note: '缺一个空气开关，师傅自己去五金店买' } });
    expect(c.world.events('completed')[0].data).toMatchObject({ hoursSpent: 3, orderId: order.orderId });
    // Accepted inside 10 minutes: no reminder; the next partner was never contacted.
    expect(c.world.deliveredEvents(steward.partnerId)).toEqual(['order.dispatched']);
    expect(c.world.deliveredEvents(rescueTeam.partnerId)).toEqual([]);
    expect(await c.searchAttributes()).toMatchObject({ CaseStatus: 'closed', PartnerId: steward.partnerId, Overdue: false });
    expectTimelineToMatch(c, final);
    recordHistoryIfAsked('happy-path', c);
  });
});

describe('dispatch and acknowledgement (派单)', () => {
  it('a partner that declines passes the order to the next partner at once, with no reminder or withdrawal', async () => {
    const c = await bed.openCase({ partners: [volunteers, steward] });
    await c.dispatchedTo(volunteers.partnerId);
    const declinedAt = await c.now();

    const state = await c.decline(volunteers.partnerId, '今天没有电工值班');
    expect(state).toMatchObject({ status: 'dispatching', assignedPartnerId: null, currentOrderId: null, deadlines: {} });

    await c.dispatchedTo(steward.partnerId);
    expect((await c.now()) - declinedAt).toBeLessThan(MINUTE); // no timer had to pass
    expect(await c.state()).toMatchObject({ status: 'awaiting_ack', assignedPartnerId: steward.partnerId, dispatchAttempts: 2 });
    expect(c.world.events('declined')[0]).toMatchObject({
      actor: 'partner:volunteer-electricians', data: { partnerId: volunteers.partnerId, reason: '今天没有电工值班' },
    });
    expect(c.world.selections.map((s) => s.excludePartnerIds)).toEqual([[], [volunteers.partnerId]]);
    expect(c.world.deliveredEvents(volunteers.partnerId)).toEqual(['order.dispatched']);
  });

  it('an unanswered order is reminded, withdrawn at the acknowledgement deadline and offered to the next partner, until the case escalates after maxDispatchAttempts', async () => {
    const c = await bed.openCase({ partners: [steward, rescueTeam, volunteers, clinic] });
    const first = await c.dispatchedTo(steward.partnerId);

    await bed.advance(9 * MINUTE);
    expect(c.world.deliveredEvents(steward.partnerId)).toEqual(['order.dispatched']);
    await bed.advance(2 * MINUTE);
    const reminder = await c.delivered(steward.partnerId, 'order.reminder');
    expect(reminder).toMatchObject({ orderId: first.orderId, deadline: first.deadline });
    expect(await c.state()).toMatchObject({ status: 'awaiting_ack', assignedPartnerId: steward.partnerId });

    await bed.advance(20 * MINUTE); // past the 30-minute acknowledgement deadline
    const withdrawn = await c.delivered(steward.partnerId, 'order.withdrawn');
    expect(withdrawn).toMatchObject({ orderId: first.orderId, case: { reason: 'not acknowledged in time' } });
    expect(c.world.events('ack_timeout')[0].data).toEqual({ partnerId: steward.partnerId, orderId: first.orderId });
    await c.dispatchedTo(rescueTeam.partnerId);

    await bed.advance(31 * MINUTE);
    await c.dispatchedTo(volunteers.partnerId);
    await bed.advance(31 * MINUTE);
    const escalation = await c.world.waitForEvent('escalated');
    expect(escalation.data).toEqual({ reason: 'max_dispatch_attempts', dispatchAttempts: 3 });
    await c.world.waitForStatus('escalated');

    const escalated = await c.state();
    expect(escalated).toMatchObject({ status: 'escalated', assignedPartnerId: null, currentOrderId: null, dispatchAttempts: 3, deadlines: {} });
    for (const p of [steward, rescueTeam, volunteers]) {
      expect(c.world.deliveredEvents(p.partnerId)).toEqual(['order.dispatched', 'order.reminder', 'order.withdrawn']);
    }
    expect(c.world.deliveredEvents(clinic.partnerId)).toEqual([]); // a fourth partner is not tried
    expect(c.world.selections).toHaveLength(3);
    expect(c.world.events('reminder_sent')).toHaveLength(3);
    expect(c.world.events('ack_timeout')).toHaveLength(3);
    const attributes = await c.searchAttributesShowing({ CaseStatus: 'escalated' });
    expect(attributes).toMatchObject({ CaseStatus: 'escalated', Overdue: false });
    expect(attributes.PartnerId).toBeUndefined();
    expectTimelineToMatch(c, escalated);

    // An escalated case waits for a supervisor; no timer moves it on.
    await bed.advance(3 * DAY);
    expect((await c.state()).status).toBe('escalated');

    const assigned = await c.assign(clinic.partnerId);
    expect(assigned).toMatchObject({ status: 'in_progress', assignedPartnerId: clinic.partnerId, dispatchAttempts: 4 });
    await c.dispatchedTo(clinic.partnerId);
    recordHistoryIfAsked('unanswered-escalated-assigned', c);
  });

  it('with no partner to serve the request the case escalates at once, and a supervisor assigns it by hand', async () => {
    const c = await bed.openCase({ partners: [] });
    expect((await c.world.waitForEvent('escalated')).data).toEqual({ reason: 'no_partner_available', dispatchAttempts: 0 });
    await c.world.waitForStatus('escalated');
    expect(await c.state()).toMatchObject({ status: 'escalated', dispatchAttempts: 0, assignedPartnerId: null });

    const state = await c.assign(eldercare.partnerId);
    expect(state).toMatchObject({ status: 'in_progress', assignedPartnerId: eldercare.partnerId, dispatchAttempts: 1, overdue: false });
    expect(state.deadlines).toEqual({ fulfilment: iso(at(state.acknowledgedAt) + DAY) });
    const order = await c.dispatchedTo(eldercare.partnerId);
    expect(order).toMatchObject({
      orderId: state.currentOrderId, deadline: state.deadlines.fulfilment,
      case: { assignedBy: 'supervisor:secretary', resident: expect.objectContaining({ name: '王大爷' }) },
    });
    expect(c.world.events('assigned')[0]).toMatchObject({
      actor: 'supervisor:secretary', data: { partnerId: eldercare.partnerId, orderId: state.currentOrderId },
    });

    // The assigned partner works the case like any other.
    const done = await c.complete(eldercare.partnerId, '上门修好了', 1.5);
    expect(done.status).toBe('awaiting_follow_up');
  });

  it('when every partner declines the case escalates, a supervisor assigns a partner of her choice, and it runs to a satisfied close', async () => {
    const c = await bed.openCase({ partners: [volunteers, steward] });
    await c.dispatchedTo(volunteers.partnerId);
    await c.decline(volunteers.partnerId, '今天没有电工值班');
    await c.dispatchedTo(steward.partnerId);
    await c.decline(steward.partnerId, '配件缺货');
    expect((await c.world.waitForEvent('escalated')).data).toEqual({ reason: 'no_partner_available', dispatchAttempts: 2 });
    await c.world.waitForStatus('escalated');

    await c.assign(rescueTeam.partnerId);
    await c.dispatchedTo(rescueTeam.partnerId);
    await c.progress(rescueTeam.partnerId, '救援队带了发电机先供电');
    await c.complete(rescueTeam.partnerId, '线路修复', 4);
    await c.followUp(true, '回访：正常');
    await c.survey(4);

    const final = await c.result();
    expect(final).toMatchObject({ status: 'closed', outcome: 'satisfied', assignedPartnerId: rescueTeam.partnerId, dispatchAttempts: 3 });
    expect(c.world.types().filter((t) => ['dispatched', 'declined', 'escalated', 'assigned'].includes(t)))
      .toEqual(['dispatched', 'declined', 'dispatched', 'declined', 'escalated', 'assigned']);
    expectTimelineToMatch(c, final);
    recordHistoryIfAsked('decline-escalate-assign', c);
  });

  it('a supervisor who reassigns an order awaiting acknowledgement withdraws it from the first partner', async () => {
    const c = await bed.openCase({ partners: [volunteers, steward] });
    const first = await c.dispatchedTo(volunteers.partnerId);

    const state = await c.assign(steward.partnerId);
    expect(state).toMatchObject({ status: 'in_progress', assignedPartnerId: steward.partnerId, dispatchAttempts: 2 });
    expect(state.currentOrderId).not.toBe(first.orderId);
    const withdrawn = await c.delivered(volunteers.partnerId, 'order.withdrawn');
    expect(withdrawn).toMatchObject({ orderId: first.orderId, case: { reason: 'reassigned by a supervisor' } });
    const second = await c.dispatchedTo(steward.partnerId);
    expect(second.orderId).toBe(state.currentOrderId);
    // The first partner hears of the withdrawal before the new partner gets the order.
    expect(c.world.webhookAttempts.indexOf(withdrawn)).toBeLessThan(c.world.webhookAttempts.indexOf(second));

    expect((await rejection(c.accept(volunteers.partnerId))).type).toBe('NotYourOrder');
    // The withdrawn order's reminder and deadline are gone with it.
    await bed.advance(31 * MINUTE);
    expect(c.world.deliveredEvents(volunteers.partnerId)).toEqual(['order.dispatched', 'order.withdrawn']);
    expect(await c.state()).toMatchObject({ status: 'in_progress', assignedPartnerId: steward.partnerId });
  });

  it('an order the partner system rejects (HTTP 4xx) counts as a failed dispatch and goes to the next partner at once', async () => {
    const c = await bed.openCase({
      partners: [volunteers, steward], prepare: (world) => world.rejectWebhooksTo(volunteers.partnerId),
    });
    await c.dispatchedTo(steward.partnerId);

    const toVolunteers = c.world.webhookAttempts.filter((w) => w.partnerId === volunteers.partnerId);
    expect(toVolunteers).toEqual([expect.objectContaining({ event: 'order.dispatched', attempt: 1, outcome: 'rejected' })]);
    expect(c.world.events('notification_failed')[0].data).toMatchObject({
      event: 'order.dispatched', partnerId: volunteers.partnerId, error: 'partner answered HTTP 410',
    });
    expect(c.world.events('dispatch_failed')[0].data).toMatchObject({ partnerId: volunteers.partnerId, reason: 'notification_failed' });
    expect(await c.state()).toMatchObject({ status: 'awaiting_ack', assignedPartnerId: steward.partnerId, dispatchAttempts: 2 });
    expect(c.world.selections[1].excludePartnerIds).toEqual([volunteers.partnerId]);
  });

  it('a partner endpoint that stays down is retried with backoff under one delivery id, then the order moves on', async () => {
    const c = await bed.openCase({
      partners: [volunteers, steward], prepare: (world) => world.failWebhooksTo(volunteers.partnerId),
    });
    await c.world.until('the first attempt', () => c.world.webhookAttempts.length > 0);
    await bed.advance(2 * MINUTE); // the retries' backoff passes on the workflow clock
    await c.dispatchedTo(steward.partnerId);

    const attempts = c.world.webhookAttempts.filter((w) => w.partnerId === volunteers.partnerId);
    expect(attempts.map((w) => w.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(attempts.map((w) => w.deliveryId))).toEqual(new Set([`${c.workflowId}:1`]));
    // The second partner's order waited out the backoff (2 + 4 + 8 + 16 seconds) on the workflow clock.
    const [firstDispatch, secondDispatch] = c.world.events('dispatched');
    expect(at(secondDispatch.at) - at(firstDispatch.at)).toBeGreaterThanOrEqual(30_000);
    expect(c.world.types()).toEqual(expect.arrayContaining(['notification_failed', 'dispatch_failed']));
    expect(await c.state()).toMatchObject({ status: 'awaiting_ack', assignedPartnerId: steward.partnerId, dispatchAttempts: 2 });
    recordHistoryIfAsked('dispatch-webhook-gives-up', c);
  });

  it('a delivery still being retried when the partner accepts is cancelled, not retried on, and the case goes on', async () => {
    const c = await bed.openCase({
      partners: [steward], prepare: (world) => world.failWebhooksTo(steward.partnerId),
    });
    await c.world.until('the first attempt', () => c.world.webhookAttempts.length > 0);
    // The partner learned of the order anyway (its order list, or an answer we timed out on) and accepts.
    const accepted = await c.accept(steward.partnerId);
    expect(accepted.status).toBe('in_progress');
    const cancelled = await c.world.waitForEvent('notification_cancelled');
    expect(cancelled.data).toMatchObject({
      event: 'order.dispatched', partnerId: steward.partnerId, orderId: accepted.currentOrderId, deliveryId: `${c.workflowId}:1`,
    });
    const attemptsAtAccept = c.world.webhookAttempts.length;
    await bed.advance(5 * MINUTE); // well past the retries' backoff (2 + 4 + 8 + 16 s)
    expect(c.world.webhookAttempts).toHaveLength(attemptsAtAccept);
    expect(c.world.types()).not.toContain('notification_failed');
    expect(c.world.types()).not.toContain('dispatch_failed');
    const order = c.world.types().filter((t) => ['dispatched', 'accepted', 'notification_cancelled'].includes(t));
    expect(order).toEqual(['dispatched', 'accepted', 'notification_cancelled']);

    await c.complete(steward.partnerId, '换了灯泡', 1);
    await c.followUp(true, '居民确认已修好');
    expect(await c.survey(5)).toMatchObject({ status: 'closed', outcome: 'satisfied' });
    recordHistoryIfAsked('accept-while-delivering', c);
  });
});

describe('fulfilment', () => {
  it('past the fulfilment deadline the case is overdue and escalated, yet stays with the partner, who can still complete it', async () => {
    const c = await bed.openCase({ partners: [steward] });
    await c.dispatchedTo(steward.partnerId);
    const accepted = await c.accept(steward.partnerId);
    const deadline = accepted.deadlines.fulfilment!;

    await bed.advance(DAY - HOUR);
    expect((await c.state()).overdue).toBe(false);
    await bed.advance(2 * HOUR);
    expect((await c.world.waitForEvent('overdue')).data).toEqual({ kind: 'fulfilment', deadline, partnerId: steward.partnerId });
    expect((await c.world.waitForEvent('escalated')).data).toEqual({ reason: 'fulfilment_overdue', partnerId: steward.partnerId });
    await c.world.until('the overdue case row', () => c.world.lastSnapshot?.overdue);
    expect(await c.state()).toMatchObject({
      status: 'in_progress', overdue: true, assignedPartnerId: steward.partnerId, deadlines: { fulfilment: deadline },
    });
    expect(await c.searchAttributesShowing({ Overdue: true })).toMatchObject({ CaseStatus: 'in_progress', PartnerId: steward.partnerId });

    await bed.advance(DAY); // overdue is recorded once, not again and again
    expect(c.world.events('overdue')).toHaveLength(1);
    expect(c.world.deliveredEvents(steward.partnerId)).toEqual(['order.dispatched']); // not withdrawn

    const done = await c.complete(steward.partnerId, '配件到货后修好', 5);
    expect(done).toMatchObject({ status: 'awaiting_follow_up', overdue: false });
    const row = await c.world.waitForStatus('awaiting_follow_up');
    expect(row.details).toMatchObject({ fulfilmentBreached: true });
    expect(await c.searchAttributesShowing({ CaseStatus: 'awaiting_follow_up' })).toMatchObject({ Overdue: false });
  });

  it('an extension a supervisor grants moves the fulfilment deadline and clears the overdue flag; the new deadline is watched in turn', async () => {
    const c = await bed.openCase({ partners: [steward] });
    await c.dispatchedTo(steward.partnerId);
    const accepted = await c.accept(steward.partnerId);
    const firstDeadline = at(accepted.deadlines.fulfilment);

    await bed.advance(DAY + HOUR);
    await c.world.waitForEvent('overdue');
    let state = await c.askExtension(steward.partnerId, 'PT12H', '配件要从市里订');
    expect(state.extension).toMatchObject({ extraTime: 'PT12H', extraTimeMs: 12 * HOUR, decision: 'pending' });

    state = await c.decideExtension(true);
    const newDeadline = iso(firstDeadline + 12 * HOUR);
    expect(state).toMatchObject({ overdue: false, extension: { decision: 'approved' }, deadlines: { fulfilment: newDeadline } });
    const decision = await c.delivered(steward.partnerId, 'order.extension_decided');
    expect(decision).toMatchObject({ deadline: newDeadline, case: { approve: true, deadline: newDeadline } });
    expect(c.world.events('extension_decided')[0]).toMatchObject({ actor: 'supervisor:secretary', data: { approve: true, fulfilmentDeadline: newDeadline } });
    await c.world.until('the case row no longer overdue', () => c.world.lastSnapshot?.overdue === false);
    expect(await c.searchAttributesShowing({ Overdue: false })).toMatchObject({ CaseStatus: 'in_progress' });

    await bed.advance(10 * HOUR);
    expect((await c.state()).overdue).toBe(false);
    await bed.advance(2 * HOUR);
    expect((await c.world.waitForEvent('overdue', {}, 2)).data).toMatchObject({ kind: 'fulfilment', deadline: newDeadline });

    await c.complete(steward.partnerId, '配件到了，修好', 6);
    await c.followUp(true, '回访：正常');
    await c.survey(4, '虽然晚了点');
    const final = await c.result();
    expect(final).toMatchObject({ status: 'closed', outcome: 'satisfied' });
    expectTimelineToMatch(c, final);
    recordHistoryIfAsked('overdue-extension', c);
  });

  it('an extension a supervisor refuses leaves the deadline where it was', async () => {
    const c = await bed.openCase({ partners: [steward] });
    await c.dispatchedTo(steward.partnerId);
    const accepted = await c.accept(steward.partnerId);
    const deadline = accepted.deadlines.fulfilment!;

    await bed.advance(20 * HOUR);
    await c.askExtension(steward.partnerId, 'P1D', '工人不够');
    const twice = await rejection(c.askExtension(steward.partnerId, 'P2D', '再多一天'));
    expect(twice).toMatchObject({ type: 'InvalidCaseState', message: 'an extension request is already pending' });

    const state = await c.decideExtension(false);
    expect(state).toMatchObject({ overdue: false, extension: { decision: 'refused' }, deadlines: { fulfilment: deadline } });
    const decision = await c.delivered(steward.partnerId, 'order.extension_decided');
    expect(decision).toMatchObject({ deadline, case: { approve: false, deadline } });
    const again = await rejection(c.decideExtension(true));
    expect(again).toMatchObject({ type: 'InvalidCaseState', message: 'no extension request is pending' });

    await bed.advance(5 * HOUR); // past the original deadline
    expect((await c.world.waitForEvent('overdue')).data).toMatchObject({ kind: 'fulfilment', deadline });
  });
});

describe('follow-up visit (回访) and survey (满意度)', () => {
  it('a follow-up visit that finds the problem unresolved reopens the case and dispatches it again', async () => {
    const c = await completedBySteward();
    const firstOrder = c.world.delivered(steward.partnerId)[0];

    await bed.advance(DAY);
    let state = await c.followUp(false, '回访：又停电了');
    expect(state).toMatchObject({
      status: 'dispatching', reopenCount: 1, completion: null, completedAt: null, assignedPartnerId: null, overdue: false,
    });
    expect(await c.world.waitForEvent('reopened')).toMatchObject({
      actor: 'staff:grid-leader', data: { reopenCount: 1 },
    });

    // A new dispatch round: the steward may be offered the case again, with a new order.
    const secondOrder = await c.dispatchedTo(steward.partnerId, 2);
    expect(secondOrder.orderId).not.toBe(firstOrder.orderId);
    expect(c.world.selections.map((s) => s.excludePartnerIds)).toEqual([[], []]);
    expect(await c.state()).toMatchObject({ status: 'awaiting_ack', dispatchAttempts: 2, reopenCount: 1 });

    await c.accept(steward.partnerId);
    await c.complete(steward.partnerId, '重新接线，彻底修好', 2);
    state = await c.followUp(true, '回访：正常');
    expect(state.status).toBe('awaiting_survey');
    await c.survey(4);
    const final = await c.result();
    expect(final).toMatchObject({ status: 'closed', outcome: 'satisfied', reopenCount: 1, dispatchAttempts: 2 });
    expectTimelineToMatch(c, final);
    recordHistoryIfAsked('reopen', c);
  });

  it('a follow-up visit not made by its due date makes the case overdue until staff record it', async () => {
    const c = await completedBySteward();
    const due = (await c.state()).deadlines.followUp!;

    await bed.advance(2 * DAY + HOUR);
    expect((await c.world.waitForEvent('overdue')).data).toEqual({ kind: 'follow_up', deadline: due });
    await c.world.until('the overdue case row', () => c.world.lastSnapshot?.overdue);
    expect(await c.state()).toMatchObject({ status: 'awaiting_follow_up', overdue: true });
    expect(await c.searchAttributesShowing({ Overdue: true })).toMatchObject({ CaseStatus: 'awaiting_follow_up' });

    await bed.advance(3 * DAY);
    expect(c.world.events('overdue')).toHaveLength(1);

    const state = await c.followUp(true, '补做回访：正常');
    expect(state).toMatchObject({ status: 'awaiting_survey', overdue: false });
  });

  it.each([
    { score: 2, outcome: 'unsatisfied', review: true },
    { score: 3, outcome: 'unsatisfied', review: false },
  ])('a survey score of $score closes the case $outcome (supervisor review opened: $review)', async ({ score, outcome, review }) => {
    const c = await completedBySteward();
    await c.followUp(true, '回访：修好了');
    const state = await c.survey(score, '等了很久');
    expect(state).toMatchObject({ status: 'closed', outcome, survey: { score, comment: '等了很久' } });

    const final = await c.result();
    expect(c.world.events('supervisor_review_opened')).toEqual(
      review ? [expect.objectContaining({ actor: 'system', data: { score } })] : [],
    );
    // A score of 1-2 raises low_survey_score, which climbs to the top after the close (docs/sla-clocks.md).
    const types = c.world.types();
    expect(types.slice(types.lastIndexOf('closed') + 1)).toEqual(review ? ['escalation_level_raised', 'escalation_level_raised'] : []);
    expect(c.world.lastSnapshot).toMatchObject({ status: 'closed', outcome, satisfaction: score });
    expectTimelineToMatch(c, final);
  });

  it('a survey not answered within its window closes the case as no_response', async () => {
    const c = await completedBySteward();
    const visited = await c.followUp(true, '回访：正常');
    const window = at(visited.deadlines.survey);

    const final = await c.result(); // time skips to the end of the survey window
    expect(final).toMatchObject({ status: 'closed', outcome: 'no_response', survey: null, deadlines: {} });
    expect(at(final.closedAt)).toBeGreaterThanOrEqual(window);
    expect(at(final.closedAt) - window).toBeLessThan(MINUTE);
    expect(c.world.types().slice(-2)).toEqual(['survey_expired', 'closed']);
    expect(c.world.events('closed')[0].data).toEqual({ outcome: 'no_response' });
    expectTimelineToMatch(c, final);
    recordHistoryIfAsked('survey-no-response', c);
  });
});

describe('cancellation', () => {
  type Setup = (c: ServiceRequestCase) => Promise<void>;
  const accepted: Setup = async (c) => { await c.dispatchedTo(steward.partnerId); await c.accept(steward.partnerId); };
  const completed: Setup = async (c) => { await accepted(c); await c.complete(steward.partnerId, '修好了'); };
  /** An active order is withdrawn; a completed one stays with the partner who did the work (its hours count for it). */
  const openStates: Array<{ status: string; setup: Setup; orderWithdrawn: boolean; partnerAfter: string | null }> = [
    { status: 'escalated', setup: async (c) => { await c.world.waitForStatus('escalated'); }, orderWithdrawn: false, partnerAfter: null },
    { status: 'awaiting_ack', setup: async (c) => { await c.dispatchedTo(steward.partnerId); }, orderWithdrawn: true, partnerAfter: null },
    { status: 'in_progress', setup: accepted, orderWithdrawn: true, partnerAfter: null },
    { status: 'awaiting_follow_up', setup: completed, orderWithdrawn: false, partnerAfter: steward.partnerId },
    {
      status: 'awaiting_survey', setup: async (c) => { await completed(c); await c.followUp(true, '回访：正常'); },
      orderWithdrawn: false, partnerAfter: steward.partnerId,
    },
  ];

  it.each(openStates)('a case $status can be cancelled with a reason (order withdrawn: $orderWithdrawn)', async ({ status, setup, orderWithdrawn, partnerAfter }) => {
    const c = await bed.openCase({ partners: status === 'escalated' ? [] : [steward] });
    await setup(c);
    expect((await c.state()).status).toBe(status);

    const state = await c.cancel('老人搬去女儿家住了');
    expect(state).toMatchObject({
      status: 'cancelled', cancellation: { reason: '老人搬去女儿家住了', by: 'staff:grid-leader' }, deadlines: {}, overdue: false,
    });
    expect(state.closedAt).not.toBeNull();

    const final = await c.result();
    expect(final).toMatchObject({ status: 'cancelled', assignedPartnerId: partnerAfter });
    expect(c.world.events('cancelled')[0]).toMatchObject({ actor: 'staff:grid-leader', data: { reason: '老人搬去女儿家住了' } });
    const withdrawals = c.world.delivered(steward.partnerId).filter((w) => w.event === 'order.withdrawn');
    expect(withdrawals).toEqual(orderWithdrawn ? [expect.objectContaining({ case: expect.objectContaining({ reason: 'case cancelled' }) })] : []);
    expectTimelineToMatch(c, final);
    expect(await c.searchAttributes()).toMatchObject({ CaseStatus: 'cancelled', Overdue: false });
    // Nothing moves a cancelled case again.
    await expect(c.cancel('again')).rejects.toThrow();
    if (status === 'in_progress') recordHistoryIfAsked('cancel-in-progress', c);
  });

  it('a case still looking for a partner can be cancelled, and the partner found meanwhile is not dispatched', async () => {
    let release!: () => void;
    const c = await bed.openCase({ partners: [steward], prepare: (world) => { release = world.holdPartnerSelection(); } });
    await c.world.until('partner selection to start', () => c.world.selections.length === 1);
    expect((await c.state()).status).toBe('dispatching');

    const state = await c.cancel('居民自己找人修好了');
    expect(state.status).toBe('cancelled');
    release();

    const final = await c.result();
    expect(final).toMatchObject({ status: 'cancelled', assignedPartnerId: null, dispatchAttempts: 0 });
    expect(c.world.webhookAttempts).toEqual([]);
    expect(c.world.types()).toEqual(['intake', 'cancelled']);
    expectTimelineToMatch(c, final);
    recordHistoryIfAsked('cancel-while-dispatching', c);
  });
});

describe('actions the case state forbids', () => {
  it('are rejected by the validators, naming the state or the wrong partner, and leave no trace', async () => {
    const c = await bed.openCase({ partners: [steward, rescueTeam] });
    await c.dispatchedTo(steward.partnerId);

    const early = await rejection(c.complete(steward.partnerId, '修好了'));
    expect(early).toMatchObject({ type: 'InvalidCaseState', message: 'cannot complete a case that is awaiting_ack', details: [{ status: 'awaiting_ack' }] });
    expect((await rejection(c.accept(rescueTeam.partnerId))).type).toBe('NotYourOrder');
    expect((await rejection(c.decline(rescueTeam.partnerId, '不是我们的'))).type).toBe('NotYourOrder');
    expect((await rejection(c.progress(steward.partnerId, '在路上'))).type).toBe('InvalidCaseState');
    expect((await rejection(c.followUp(true, '回访'))).type).toBe('InvalidCaseState');
    expect((await rejection(c.survey(5))).type).toBe('InvalidCaseState');
    expect((await rejection(c.decideExtension(true))).type).toBe('InvalidCaseState');

    await c.accept(steward.partnerId);
    const repeat = await c.accept(steward.partnerId); // a partner system retrying its call
    expect(repeat.status).toBe('in_progress');
    expect((await rejection(c.decline(steward.partnerId, '算了'))).details).toEqual([{ status: 'in_progress' }]);
    expect((await rejection(c.complete(rescueTeam.partnerId, '修好了'))).type).toBe('NotYourOrder');
    expect((await rejection(c.askExtension(rescueTeam.partnerId, 'PT2H', '要更多时间'))).type).toBe('NotYourOrder');

    await c.complete(steward.partnerId, '修好了', 1);
    expect((await rejection(c.assign(rescueTeam.partnerId))).details).toEqual([{ status: 'awaiting_follow_up' }]);
    expect((await rejection(c.complete(steward.partnerId, '再修一次'))).type).toBe('InvalidCaseState');
    expect((await rejection(c.survey(5))).type).toBe('InvalidCaseState');

    await c.world.waitForStatus('awaiting_follow_up');
    expect(c.world.types()).toEqual(['intake', 'dispatched', 'notification_delivered', 'accepted', 'completed']);
    // Rejected updates never reach the history; only the three accepted ones do.
    const history = await c.handle.fetchHistory();
    const acceptedUpdates = history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(acceptedUpdates.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.name))
      .toEqual(['acceptOrder', 'acceptOrder', 'completeOrder']);
  });
});

describe('the timeline (read model)', () => {
  it('survives a read-model outage: writes are retried and no event is lost or repeated', async () => {
    const c = await bed.openCase({ partners: [steward], prepare: (world) => world.failReadModelWrites(3) });
    await bed.advance(MINUTE); // the retry backoff of the failed writes passes
    await c.dispatchedTo(steward.partnerId);
    await c.accept(steward.partnerId);
    await c.cancel('测试结束');
    const final = await c.result();

    expect(c.world.events('intake')).toHaveLength(1); // the write that failed three times arrived once
    expect(c.world.types()).toEqual(expect.arrayContaining(['intake', 'dispatched', 'notification_delivered', 'accepted', 'cancelled']));
    expectTimelineToMatch(c, final);
  });

  it('a batch Postgres will never take (a data error) is left out and the case goes on to closed', async () => {
    const c = await bed.openCase({ partners: [steward], prepare: (world) => world.refuseBatchesWith('progress') });
    await c.dispatchedTo(steward.partnerId);
    await c.accept(steward.partnerId);
    await c.progress(steward.partnerId, '这条记录被读模型拒绝');
    // The refusal happens before the next step, so the refused batch holds the progress note alone.
    await eventually(async () => c.world.refusedBatches, { accept: (n) => n > 0, what: 'the refused batch' });
    await c.complete(steward.partnerId, '修好了', 1);
    await c.followUp(true, '回访：正常');
    await c.survey(5);
    const final = await c.result();

    expect(final).toMatchObject({ status: 'closed', outcome: 'satisfied' });
    // The refused batch (the progress note) is missing; everything after it arrived.
    expect(c.world.types()).not.toContain('progress');
    expect(c.world.types()).toEqual(expect.arrayContaining(['completed', 'follow_up', 'survey', 'closed']));
  });
});
