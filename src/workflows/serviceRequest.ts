/**
 * 民生诉求: one resident request, from intake to the satisfaction survey.
 *
 * A case type on the case kernel (caseKernel.ts, docs/case-kernel.md). Update handlers
 * validate an action against the action table and the order, change the state at once (so
 * the caller gets the new state back) and queue the webhooks that follow; the kernel's
 * loop sends those, writes the timeline, and sleeps until the next change or the next
 * deadline of the current state (reminder, acknowledgement, fulfilment, follow-up, survey),
 * which this file names and fires.
 */
import { patched, setHandler, uuid4 } from '@temporalio/workflow';
import { formatIsoDuration } from '../domain/duration';
import { dueAfter, maxHoldMsOf, workingTime } from '../domain/slaClock';
import {
  initialServiceRequestMemory, initialServiceRequestState, MAX_PROGRESS_NOTES_PER_ORDER, type ServiceRequestState,
  type ServiceRequestWorkflowInput, serviceRequestSnapshot, surveyOutcome,
} from '../domain/serviceRequest';
import { caseActivities, CaseKernel, type Deadline } from './caseKernel';
import { CaseEscalations, CLIMB_AFTER_CLOSE_PATCH, SLA_CLOCKS_PATCH, sooner } from './escalationChain';
import * as m from './messages';
import { invalidState, notYourOrder } from './validation';

const { selectPartner } = caseActivities;

type Notification = { partnerId: string; event: string; orderId: string; extra?: Record<string, unknown> };

const iso = (ms: number) => new Date(ms).toISOString();

export async function serviceRequest(input: ServiceRequestWorkflowInput): Promise<ServiceRequestState> {
  const { caseId, intake, sla } = input;
  const now = () => Date.now();
  const kernel = new CaseKernel({
    type: 'service_request', input, state: initialServiceRequestState(input), memory: initialServiceRequestMemory(),
    snapshot: serviceRequestSnapshot,
  });
  // In a continued run these are the state and memory carried from the run before.
  const { state, memory } = kernel;
  const record = kernel.record.bind(kernel);
  const clocks = patched(SLA_CLOCKS_PATCH);
  if (clocks) {
    state.escalations ??= [];
    state.onHold ??= null;
    state.held ??= { count: 0, workingMs: 0 };
  }
  const chain = clocks
    ? new CaseEscalations(kernel, state.escalations!, sla, {
      caseId, caseType: 'service_request', workflowId: kernel.workflowId, community: () => state.resident.community,
    })
    : null;

  /** `ms` of the policy's time from `from`: working time on its calendar (wall-clock time before the clocks). */
  function dueAt(kind: string, ms: number, from = now()): string {
    if (!clocks) return iso(from + ms);
    const { at, provisional } = dueAfter(sla, from, ms);
    const others = (state.provisionalDeadlines ?? []).filter((k) => k !== kind);
    state.provisionalDeadlines = provisional ? [...others, kind] : others;
    return iso(at);
  }

  /** End the current hold: the fulfilment deadline moves by the working time it stopped the clock for. */
  function endHold(actor: string, why: string): void {
    const hold = state.onHold;
    if (!hold) return;
    const heldMs = workingTime(sla, Date.parse(hold.since), now());
    state.onHold = null;
    memory.holdDueAt = null;
    state.held = { count: (state.held?.count ?? 0) + 1, workingMs: (state.held?.workingMs ?? 0) + heldMs };
    if (state.deadlines.fulfilment && !state.overdue && why === 'resumed') {
      state.deadlines.fulfilment = dueAt('fulfilment', heldMs, Date.parse(state.deadlines.fulfilment));
    }
    record('hold_ended', actor, {
      reason: hold.reason, why, since: hold.since, held: formatIsoDuration(heldMs), heldMs, fulfilmentDeadline: state.deadlines.fulfilment ?? null,
    });
    chain?.resolve(['hold_too_long'], why, actor);
  }

  // ---- validation helpers (validators run before the update is accepted into history) ----

  /** Checked before the state: a partner without an order on the case learns nothing about it (403). */
  function requireOwnOrder(partnerId: string): void {
    if (state.assignedPartnerId !== partnerId) throw notYourOrder('this case has no active order for your organisation');
  }

  // ---- state changes shared by several paths ----

  function clearOrder(): void {
    state.assignedPartnerId = null;
    state.currentOrderId = null;
    state.deadlines = {};
    state.extension = null;
  }

  /** A new order for `partnerId`: its id, and its own count of progress notes. */
  function newOrder(partnerId: string): string {
    const orderId = uuid4();
    state.assignedPartnerId = partnerId;
    state.currentOrderId = orderId;
    state.dispatchAttempts += 1;
    memory.progressNotes = 0;
    return orderId;
  }

  /** Withdraw the active order, if any, telling the partner. */
  function withdrawActiveOrder(reason: string): void {
    if (state.currentOrderId && state.assignedPartnerId && (state.status === 'awaiting_ack' || state.status === 'in_progress')) {
      record('order_withdrawn', 'system', { partnerId: state.assignedPartnerId, orderId: state.currentOrderId, reason });
      queue({
        partnerId: state.assignedPartnerId, event: 'order.withdrawn', orderId: state.currentOrderId, extra: { reason },
      });
    }
    clearOrder();
  }

  function startFulfilment(): void {
    state.status = 'in_progress';
    state.acknowledgedAt ??= iso(now());
    state.overdue = false;
    state.deadlines = { fulfilment: dueAt('fulfilment', sla.fulfilmentTimeoutMs) };
  }

  function escalate(reason: string): void {
    clearOrder();
    state.status = 'escalated';
    record('escalated', 'system', { reason, dispatchAttempts: state.dispatchAttempts });
    chain?.raise('no_partner');
  }

  function close(outcome: NonNullable<ServiceRequestState['outcome']>): void {
    state.status = 'closed';
    state.outcome = outcome;
    state.closedAt = iso(now());
    state.deadlines = {};
    state.overdue = false;
    record('closed', 'system', { outcome });
  }

  // ---- queries and updates ----

  setHandler(m.getServiceRequestState, () => state);

  setHandler(m.acceptOrder, ({ partnerId, actor }) => {
    if (state.status === 'awaiting_ack') {
      startFulfilment();
      memory.reminded = false;
      record('accepted', actor, { partnerId, orderId: state.currentOrderId, fulfilmentDeadline: state.deadlines.fulfilment });
    }
    // Accepting an order already in progress is a harmless repeat (a partner retrying its call).
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      kernel.require('accept');
    },
  });

  setHandler(m.declineOrder, ({ partnerId, reason, actor }) => {
    record('declined', actor, { partnerId, orderId: state.currentOrderId, reason });
    clearOrder();
    state.status = 'dispatching';
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      kernel.require('decline');
    },
  });

  setHandler(m.reportProgress, ({ note, actor, partnerId }) => {
    memory.progressNotes += 1;
    record('progress', actor, { partnerId, note });
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      kernel.require('progress', 'report progress on');
      // Each note is an Update in the history: a cap keeps one chatty partner from filling it.
      if (memory.progressNotes >= MAX_PROGRESS_NOTES_PER_ORDER) {
        throw invalidState(state.status, `this order already has ${MAX_PROGRESS_NOTES_PER_ORDER} progress notes, the most one order keeps; say the rest when completing it`);
      }
    },
  });

  setHandler(m.completeOrder, ({ note, hoursSpent, actor, partnerId }) => {
    endHold(actor, 'completed');
    chain?.resolve(['fulfilment_overdue'], 'completed', actor);
    const at = iso(now());
    state.completion = { note, hoursSpent: hoursSpent ?? null, at };
    state.completedAt = at;
    state.status = 'awaiting_follow_up';
    state.overdue = false;
    state.extension = null;
    state.deadlines = { followUp: dueAt('followUp', sla.followUpAfterMs) };
    memory.followUpMissed = false;
    record('completed', actor, { partnerId, orderId: state.currentOrderId, note, hoursSpent: hoursSpent ?? null });
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      kernel.require('complete');
    },
  });

  setHandler(m.requestExtension, ({ extraTime, extraTimeMs, reason, actor, partnerId }) => {
    state.extension = { extraTime, extraTimeMs, reason, requestedAt: iso(now()), decision: 'pending' };
    record('extension_requested', actor, { partnerId, extraTime, reason });
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      kernel.require('extension', 'request an extension for');
      if (state.extension?.decision === 'pending') throw invalidState(state.status, 'an extension request is already pending');
    },
  });

  setHandler(m.decideExtension, ({ approve, actor }) => {
    const extension = state.extension!;
    extension.decision = approve ? 'approved' : 'refused';
    if (approve && state.deadlines.fulfilment) {
      const newDeadline = Date.parse(dueAt('fulfilment', extension.extraTimeMs, Date.parse(state.deadlines.fulfilment)));
      state.deadlines = { fulfilment: iso(newDeadline) };
      if (newDeadline > now()) {
        state.overdue = false;
        chain?.resolve(['fulfilment_overdue'], 'extension_approved', actor);
      }
    }
    record('extension_decided', actor, { approve, fulfilmentDeadline: state.deadlines.fulfilment });
    queue({
      partnerId: state.assignedPartnerId!, event: 'order.extension_decided', orderId: state.currentOrderId!,
      extra: { approve, deadline: state.deadlines.fulfilment },
    });
    return state;
  }, {
    validator: (_input) => {
      kernel.require('extension_decision', 'decide an extension for');
      if (state.extension?.decision !== 'pending') throw invalidState(state.status, 'no extension request is pending');
    },
  });

  setHandler(m.assignPartner, ({ partnerId, actor }) => {
    endHold(actor, 'reassigned');
    chain?.resolve(['no_partner', 'fulfilment_overdue', 'hold_too_long'], 'assigned', actor);
    withdrawActiveOrder('reassigned by a supervisor');
    const orderId = newOrder(partnerId);
    // A supervisor's assignment is agreed with the partner: the order starts at once.
    startFulfilment();
    record('assigned', actor, { partnerId, orderId, fulfilmentDeadline: state.deadlines.fulfilment });
    queue({
      partnerId, event: 'order.dispatched', orderId,
      extra: { assignedBy: actor, deadline: state.deadlines.fulfilment },
    });
    return state;
  }, { validator: (_input) => kernel.require('assign') });

  setHandler(m.recordFollowUp, ({ resolved, note, actor }) => {
    record('follow_up', actor, { resolved, note });
    chain?.resolve(['follow_up_overdue'], 'follow_up', actor);
    state.overdue = false;
    if (resolved) {
      state.status = 'awaiting_survey';
      state.deadlines = { survey: dueAt('survey', sla.surveyWindowMs) };
    } else {
      state.reopenCount += 1;
      state.completion = null;
      state.completedAt = null;
      clearOrder();
      state.status = 'dispatching';
      memory.triedThisRound = [];
      record('reopened', actor, { reopenCount: state.reopenCount });
    }
    return state;
  }, { validator: (_input) => kernel.require('follow_up', 'record a follow-up visit for') });

  setHandler(m.recordSurvey, ({ score, comment, actor }) => {
    state.survey = { score, comment: comment ?? null, at: iso(now()) };
    const { outcome, needsReview } = surveyOutcome(score);
    record('survey', actor, { score, comment: comment ?? null });
    if (needsReview) record('supervisor_review_opened', 'system', { score });
    if (needsReview) chain?.raise('low_survey_score');
    close(outcome);
    return state;
  }, { validator: (_input) => kernel.require('survey', 'record a survey for') });

  setHandler(m.cancelServiceRequest, ({ reason, actor }) => {
    // An active order is withdrawn; a completed one stays with the partner who did the work
    // (its hours and the case count for that partner in reports).
    if (state.status === 'awaiting_ack' || state.status === 'in_progress') withdrawActiveOrder('case cancelled');
    endHold(actor, 'cancelled');
    chain?.resolve('all', 'cancelled', actor);
    state.deadlines = {};
    state.status = 'cancelled';
    state.closedAt = iso(now());
    state.overdue = false;
    state.cancellation = { reason, by: actor };
    record('cancelled', actor, { reason });
    return state;
  }, { validator: (_input) => kernel.require('cancel') });

  // ---- holds and the escalation chain (docs/sla-clocks.md) ----

  setHandler(m.holdOrder, ({ reason, note, actor }) => {
    state.onHold = { since: iso(now()), reason, note: note ?? null, by: actor };
    memory.holdDueAt = Date.parse(dueAt('hold', maxHoldMsOf(sla)));
    record('hold_started', actor, { reason, note: note ?? null, maxHoldDue: iso(memory.holdDueAt) });
    return state;
  }, {
    validator: ({ partnerId }) => {
      if (partnerId) requireOwnOrder(partnerId);
      if (!clocks) throw invalidState(state.status, 'this case was opened before holds existed');
      kernel.require('hold', 'put on hold');
      if (state.onHold) throw invalidState(state.status, `the case is on hold already, since ${state.onHold.since}`);
    },
  });

  setHandler(m.resumeOrder, ({ actor }) => {
    endHold(actor, 'resumed');
    return state;
  }, {
    validator: ({ partnerId }) => {
      if (partnerId) requireOwnOrder(partnerId);
      if (!state.onHold) throw invalidState(state.status, 'the case is not on hold: there is nothing to resume');
    },
  });

  setHandler(m.acknowledgeEscalation, ({ note, actor }) => {
    chain!.acknowledge(actor, note);
    return state;
  }, {
    validator: (_input) => {
      if (!chain?.acknowledgeable) throw invalidState(state.status, 'the case has no escalation waiting to be taken on');
    },
  });

  // ---- side effects run by the main loop ----

  function partnerView(): Record<string, unknown> {
    const { name, phone, community, compound, grid, address, flags } = state.resident;
    return {
      category: state.category, urgency: state.urgency, channel: state.channel, description: state.description,
      resident: { name, phone, community, compound, grid, address, flags },
    };
  }

  /** The webhook of a notification; the resident's details only with a new order. */
  function webhook(n: Notification) {
    const caseView = n.event === 'order.dispatched' ? partnerView() : { category: state.category, urgency: state.urgency };
    return {
      partnerId: n.partnerId, event: n.event, orderId: n.orderId,
      deadline: typeof n.extra?.deadline === 'string' ? n.extra.deadline : undefined,
      case: { ...caseView, ...n.extra },
    };
  }

  /** Deliver one webhook now (outcome in the timeline). */
  const notify = (n: Notification, stale?: () => boolean): Promise<boolean> => kernel.notify(webhook(n), stale);
  /** Queue one for the loop to send. */
  function queue(n: Notification): void {
    kernel.queueNotification(webhook(n));
  }

  /** An offer (or its reminder) is moot once the order is no longer awaiting acknowledgement: accepted, declined or withdrawn. */
  const offerMoot = (orderId: string) => () => state.currentOrderId !== orderId || state.status !== 'awaiting_ack';

  /** 派单: offer the case to the best partner not yet tried in this round. */
  async function dispatchToNextPartner(): Promise<void> {
    if (memory.triedThisRound.length >= sla.maxDispatchAttempts) return escalate('max_dispatch_attempts');
    const candidate = await selectPartner({
      caseId, category: state.category, community: state.resident.community,
      grid: state.resident.grid ?? null, excludePartnerIds: memory.triedThisRound,
    });
    if (state.status !== 'dispatching') return; // a supervisor or staff acted meanwhile
    if (!candidate) return escalate('no_partner_available');

    memory.triedThisRound.push(candidate.partnerId);
    const orderId = newOrder(candidate.partnerId);
    state.status = 'awaiting_ack';
    memory.reminded = false;
    const dispatchedAt = now();
    state.deadlines = {
      ack: dueAt('ack', sla.ackTimeoutMs, dispatchedAt),
      ...(sla.reminderAfterMs < sla.ackTimeoutMs ? { reminder: dueAt('reminder', sla.reminderAfterMs, dispatchedAt) } : {}),
    };
    record('dispatched', 'system', {
      partnerId: candidate.partnerId, partnerName: candidate.name, orderId, attempt: memory.triedThisRound.length, ackDeadline: state.deadlines.ack,
    });
    await kernel.flush();
    const delivered = await notify({
      partnerId: candidate.partnerId, event: 'order.dispatched', orderId, extra: { deadline: state.deadlines.ack },
    }, offerMoot(orderId));
    if (!delivered && state.currentOrderId === orderId && state.status === 'awaiting_ack') {
      record('dispatch_failed', 'system', { partnerId: candidate.partnerId, orderId, reason: 'notification_failed' });
      clearOrder();
      state.status = 'dispatching';
    }
  }

  /** The next deadline of the current state, with what happens when it passes. */
  function nextDeadline(): Deadline | null {
    const d = state.deadlines;
    switch (state.status) {
      case 'awaiting_ack':
        if (!memory.reminded && d.reminder) return { at: Date.parse(d.reminder), fire: sendReminder };
        return d.ack ? { at: Date.parse(d.ack), fire: acknowledgementTimedOut } : null;
      case 'in_progress':
        // On hold the fulfilment clock is stopped; only maxHold runs.
        if (state.onHold) return memory.holdDueAt ? { at: memory.holdDueAt, fire: holdTooLong } : null;
        return !state.overdue && d.fulfilment ? { at: Date.parse(d.fulfilment), fire: fulfilmentOverdue } : null;
      case 'awaiting_follow_up':
        return !memory.followUpMissed && d.followUp ? { at: Date.parse(d.followUp), fire: followUpOverdue } : null;
      case 'awaiting_survey':
        return d.survey ? { at: Date.parse(d.survey), fire: surveyExpired } : null;
      default:
        return null;
    }
  }

  async function sendReminder(): Promise<void> {
    memory.reminded = true;
    delete state.deadlines.reminder;
    record('reminder_sent', 'system', { partnerId: state.assignedPartnerId, orderId: state.currentOrderId });
    await notify({ partnerId: state.assignedPartnerId!, event: 'order.reminder', orderId: state.currentOrderId!, extra: { deadline: state.deadlines.ack } },
      offerMoot(state.currentOrderId!));
  }

  function acknowledgementTimedOut(): void {
    record('ack_timeout', 'system', { partnerId: state.assignedPartnerId, orderId: state.currentOrderId });
    withdrawActiveOrder('not acknowledged in time');
    state.status = 'dispatching';
  }

  function fulfilmentOverdue(): void {
    state.overdue = true;
    memory.fulfilmentBreached = true;
    record('overdue', 'system', { kind: 'fulfilment', deadline: state.deadlines.fulfilment, partnerId: state.assignedPartnerId });
    record('escalated', 'system', { reason: 'fulfilment_overdue', partnerId: state.assignedPartnerId });
    chain?.raise('fulfilment_overdue');
  }

  function holdTooLong(): void {
    memory.holdDueAt = null;
    record('hold_overdue', 'system', { since: state.onHold?.since, reason: state.onHold?.reason, maxHold: formatIsoDuration(maxHoldMsOf(sla)) });
    chain?.raise('hold_too_long');
  }

  function followUpOverdue(): void {
    memory.followUpMissed = true;
    state.overdue = true;
    record('overdue', 'system', { kind: 'follow_up', deadline: state.deadlines.followUp });
    chain?.raise('follow_up_overdue');
  }

  function surveyExpired(): void {
    record('survey_expired', 'system', {});
    close('no_response');
  }

  // ---- the main loop ----

  if (!kernel.resumed) {
    record('intake', input.openedBy, {
      category: intake.category, urgency: intake.urgency, channel: intake.channel,
      community: intake.resident.community, grid: intake.resident.grid ?? null, sla: sla.source,
    });
  }

  const final = await kernel.runUntilFinished({
    work: async () => {
      if (chain && (await chain.sendNotices())) return true;
      if (state.status !== 'dispatching') return false;
      await dispatchToNextPartner();
      return true;
    },
    nextDeadline: () => sooner(nextDeadline(), chain?.nextStep() ?? null),
  });
  // An escalation raised as the case closed (a survey of 1-2) still reaches its contacts...
  if (chain && (await chain.sendNotices())) await kernel.flush();
  // ...and climbs the chain until someone takes it on or it is at the top (cases closed before: it stayed at level 1).
  if (chain?.climbing && patched(CLIMB_AFTER_CLOSE_PATCH)) await chain.climbAfterEnd(() => kernel.flush());
  return final;
}
