/**
 * 民生诉求: one resident request, from intake to the satisfaction survey.
 *
 * Shape: a small state machine. Update handlers validate an action against the
 * current state, change the state at once (so the caller gets the new state back)
 * and queue the side effects (webhooks) that follow; the main loop performs those,
 * writes the timeline to the read model, and sleeps until the next change or the
 * next deadline of the current state (reminder, acknowledgement, fulfilment,
 * follow-up, survey).
 */
import {
  proxyActivities, setHandler, uuid4, workflowInfo,
} from '@temporalio/workflow';
import type { CaseActivities } from '../activities';
import type { CaseSnapshot } from '../domain/caseEvents';
import {
  type ServiceRequestState, type ServiceRequestStatus, type ServiceRequestWorkflowInput, surveyOutcome,
} from '../domain/serviceRequest';
import { type Deadline, runCaseLoop } from './caseLoop';
import { CaseRecorder } from './caseRecorder';
import * as m from './messages';
import { partnerNotifier } from './partnerNotifier';
import { invalidState, notYourOrder, requireStatus as requireCaseStatus } from './validation';

const { selectPartner } = proxyActivities<CaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

const ACTIVE_ORDER: readonly ServiceRequestStatus[] = ['awaiting_ack', 'in_progress'];
const ASSIGNABLE: readonly ServiceRequestStatus[] = ['dispatching', 'awaiting_ack', 'in_progress', 'escalated'];
const TERMINAL: readonly ServiceRequestStatus[] = ['closed', 'cancelled'];

type Notification = { partnerId: string; event: string; orderId: string; extra?: Record<string, unknown> };

const iso = (ms: number) => new Date(ms).toISOString();

export async function serviceRequest(input: ServiceRequestWorkflowInput): Promise<ServiceRequestState> {
  const { caseId, intake, sla } = input;
  const { workflowId } = workflowInfo();
  const now = () => Date.now();

  const state: ServiceRequestState = {
    id: caseId,
    caseType: 'service_request',
    status: 'dispatching',
    category: intake.category,
    urgency: intake.urgency,
    channel: intake.channel,
    description: intake.description,
    resident: intake.resident,
    assignedPartnerId: null,
    currentOrderId: null,
    dispatchAttempts: 0,
    overdue: false,
    reopenCount: 0,
    deadlines: {},
    extension: null,
    completion: null,
    survey: null,
    sla: sla.source,
    createdAt: input.openedAt,
    acknowledgedAt: null,
    completedAt: null,
    closedAt: null,
    outcome: null,
    cancellation: null,
  };

  /** Partners tried in this dispatch round (a reopen starts a new round). */
  let triedThisRound: string[] = [];
  let reminded = false;
  let followUpMissed = false;
  let fulfilmentBreached = false;
  /** Set by every handler so the main loop wakes up. */
  let changed = false;
  const notifications: Notification[] = [];

  const recorder = new CaseRecorder(snapshot);
  const record = (type: string, actor: string, data: Record<string, unknown> = {}) => {
    recorder.record(type, actor, data);
    changed = true;
  };

  function snapshot(): CaseSnapshot {
    const d = state.deadlines;
    return {
      id: caseId,
      type: 'service_request',
      workflowId,
      status: state.status,
      category: state.category,
      urgency: state.urgency,
      community: state.resident.community,
      partnerId: state.assignedPartnerId,
      overdue: state.overdue,
      reopenCount: state.reopenCount,
      dispatchAttempts: state.dispatchAttempts,
      deadlines: { ack: d.ack, fulfilment: d.fulfilment, follow_up: d.followUp, survey: d.survey },
      createdAt: state.createdAt,
      acknowledgedAt: state.acknowledgedAt,
      completedAt: state.completedAt,
      closedAt: state.closedAt,
      outcome: state.outcome,
      satisfaction: state.survey?.score ?? null,
      details: {
        resident: state.resident,
        channel: state.channel,
        description: state.description,
        completion: state.completion,
        extension: state.extension,
        cancellation: state.cancellation,
        fulfilmentBreached,
        sla: state.sla,
      },
    };
  }

  // ---- validation helpers (validators run before the update is accepted into history) ----

  function requireStatus(allowed: readonly ServiceRequestStatus[], action: string): void {
    requireCaseStatus(state.status, allowed, action);
  }

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

  /** Withdraw the active order, if any, telling the partner. */
  function withdrawActiveOrder(reason: string): void {
    if (state.currentOrderId && state.assignedPartnerId && ACTIVE_ORDER.includes(state.status)) {
      record('order_withdrawn', 'system', { partnerId: state.assignedPartnerId, orderId: state.currentOrderId, reason });
      notifications.push({
        partnerId: state.assignedPartnerId, event: 'order.withdrawn', orderId: state.currentOrderId, extra: { reason },
      });
    }
    clearOrder();
  }

  function startFulfilment(): void {
    state.status = 'in_progress';
    state.acknowledgedAt ??= iso(now());
    state.overdue = false;
    state.deadlines = { fulfilment: iso(now() + sla.fulfilmentTimeoutMs) };
  }

  function escalate(reason: string): void {
    clearOrder();
    state.status = 'escalated';
    record('escalated', 'system', { reason, dispatchAttempts: state.dispatchAttempts });
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
  setHandler(m.resyncReadModel, () => { recorder.resync(); changed = true; });

  setHandler(m.acceptOrder, ({ partnerId, actor }) => {
    if (state.status === 'awaiting_ack') {
      startFulfilment();
      reminded = false;
      record('accepted', actor, { partnerId, orderId: state.currentOrderId, fulfilmentDeadline: state.deadlines.fulfilment });
    }
    // Accepting an order already in progress is a harmless repeat (a partner retrying its call).
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      requireStatus(['awaiting_ack', 'in_progress'], 'accept');
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
      requireStatus(['awaiting_ack'], 'decline');
    },
  });

  setHandler(m.reportProgress, ({ note, actor, partnerId }) => {
    record('progress', actor, { partnerId, note });
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      requireStatus(['in_progress'], 'report progress on');
    },
  });

  setHandler(m.completeOrder, ({ note, hoursSpent, actor, partnerId }) => {
    const at = iso(now());
    state.completion = { note, hoursSpent: hoursSpent ?? null, at };
    state.completedAt = at;
    state.status = 'awaiting_follow_up';
    state.overdue = false;
    state.extension = null;
    state.deadlines = { followUp: iso(now() + sla.followUpAfterMs) };
    followUpMissed = false;
    record('completed', actor, { partnerId, orderId: state.currentOrderId, note, hoursSpent: hoursSpent ?? null });
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      requireStatus(['in_progress'], 'complete');
    },
  });

  setHandler(m.requestExtension, ({ extraTime, extraTimeMs, reason, actor, partnerId }) => {
    state.extension = { extraTime, extraTimeMs, reason, requestedAt: iso(now()), decision: 'pending' };
    record('extension_requested', actor, { partnerId, extraTime, reason });
    return state;
  }, {
    validator: ({ partnerId }) => {
      requireOwnOrder(partnerId);
      requireStatus(['in_progress'], 'request an extension for');
      if (state.extension?.decision === 'pending') throw invalidState(state.status, 'an extension request is already pending');
    },
  });

  setHandler(m.decideExtension, ({ approve, actor }) => {
    const extension = state.extension!;
    extension.decision = approve ? 'approved' : 'refused';
    if (approve && state.deadlines.fulfilment) {
      const newDeadline = Date.parse(state.deadlines.fulfilment) + extension.extraTimeMs;
      state.deadlines = { fulfilment: iso(newDeadline) };
      if (newDeadline > now()) state.overdue = false;
    }
    record('extension_decided', actor, { approve, fulfilmentDeadline: state.deadlines.fulfilment });
    notifications.push({
      partnerId: state.assignedPartnerId!, event: 'order.extension_decided', orderId: state.currentOrderId!,
      extra: { approve, deadline: state.deadlines.fulfilment },
    });
    return state;
  }, {
    validator: (_input) => {
      requireStatus(['in_progress'], 'decide an extension for');
      if (state.extension?.decision !== 'pending') throw invalidState(state.status, 'no extension request is pending');
    },
  });

  setHandler(m.assignPartner, ({ partnerId, actor }) => {
    withdrawActiveOrder('reassigned by a supervisor');
    const orderId = uuid4();
    state.assignedPartnerId = partnerId;
    state.currentOrderId = orderId;
    state.dispatchAttempts += 1;
    // A supervisor's assignment is agreed with the partner: the order starts at once.
    startFulfilment();
    record('assigned', actor, { partnerId, orderId, fulfilmentDeadline: state.deadlines.fulfilment });
    notifications.push({
      partnerId, event: 'order.dispatched', orderId,
      extra: { assignedBy: actor, deadline: state.deadlines.fulfilment },
    });
    return state;
  }, { validator: (_input) => requireStatus(ASSIGNABLE, 'assign') });

  setHandler(m.recordFollowUp, ({ resolved, note, actor }) => {
    record('follow_up', actor, { resolved, note });
    state.overdue = false;
    if (resolved) {
      state.status = 'awaiting_survey';
      state.deadlines = { survey: iso(now() + sla.surveyWindowMs) };
    } else {
      state.reopenCount += 1;
      state.completion = null;
      state.completedAt = null;
      clearOrder();
      state.status = 'dispatching';
      triedThisRound = [];
      record('reopened', actor, { reopenCount: state.reopenCount });
    }
    return state;
  }, { validator: (_input) => requireStatus(['awaiting_follow_up'], 'record a follow-up visit for') });

  setHandler(m.recordSurvey, ({ score, comment, actor }) => {
    state.survey = { score, comment: comment ?? null, at: iso(now()) };
    const { outcome, needsReview } = surveyOutcome(score);
    record('survey', actor, { score, comment: comment ?? null });
    if (needsReview) record('supervisor_review_opened', 'system', { score });
    close(outcome);
    return state;
  }, { validator: (_input) => requireStatus(['awaiting_survey'], 'record a survey for') });

  setHandler(m.cancelServiceRequest, ({ reason, actor }) => {
    // An active order is withdrawn; a completed one stays with the partner who did the work
    // (its hours and the case count for that partner in reports).
    if (ACTIVE_ORDER.includes(state.status)) withdrawActiveOrder('case cancelled');
    state.deadlines = {};
    state.status = 'cancelled';
    state.closedAt = iso(now());
    state.overdue = false;
    state.cancellation = { reason, by: actor };
    record('cancelled', actor, { reason });
    return state;
  }, { validator: (_input) => requireStatus(['dispatching', 'awaiting_ack', 'in_progress', 'escalated', 'awaiting_follow_up', 'awaiting_survey'], 'cancel') });

  // ---- side effects run by the main loop ----

  function partnerView(): Record<string, unknown> {
    const { name, phone, community, compound, grid, address, flags } = state.resident;
    return {
      category: state.category, urgency: state.urgency, channel: state.channel, description: state.description,
      resident: { name, phone, community, compound, grid, address, flags },
    };
  }

  const deliver = partnerNotifier(caseId, 'service_request', record);

  /** Deliver one webhook (outcome in the timeline); the resident's details only with a new order. */
  function notify(n: Notification, stale?: () => boolean): Promise<boolean> {
    const caseView = n.event === 'order.dispatched' ? partnerView() : { category: state.category, urgency: state.urgency };
    return deliver({
      partnerId: n.partnerId, event: n.event, orderId: n.orderId,
      deadline: typeof n.extra?.deadline === 'string' ? n.extra.deadline : undefined,
      case: { ...caseView, ...n.extra },
    }, stale);
  }

  /** An offer (or its reminder) is moot once the order is no longer awaiting acknowledgement: accepted, declined or withdrawn. */
  const offerMoot = (orderId: string) => () => state.currentOrderId !== orderId || state.status !== 'awaiting_ack';

  async function sendQueuedNotifications(): Promise<void> {
    while (notifications.length > 0) await notify(notifications.shift()!);
  }

  /** 派单: offer the case to the best partner not yet tried in this round. */
  async function dispatchToNextPartner(): Promise<void> {
    if (triedThisRound.length >= sla.maxDispatchAttempts) return escalate('max_dispatch_attempts');
    const candidate = await selectPartner({
      caseId, category: state.category, community: state.resident.community,
      grid: state.resident.grid ?? null, excludePartnerIds: triedThisRound,
    });
    if (state.status !== 'dispatching') return; // a supervisor or staff acted meanwhile
    if (!candidate) return escalate('no_partner_available');

    const orderId = uuid4();
    triedThisRound.push(candidate.partnerId);
    state.dispatchAttempts += 1;
    state.assignedPartnerId = candidate.partnerId;
    state.currentOrderId = orderId;
    state.status = 'awaiting_ack';
    reminded = false;
    const dispatchedAt = now();
    state.deadlines = {
      ack: iso(dispatchedAt + sla.ackTimeoutMs),
      ...(sla.reminderAfterMs < sla.ackTimeoutMs ? { reminder: iso(dispatchedAt + sla.reminderAfterMs) } : {}),
    };
    record('dispatched', 'system', {
      partnerId: candidate.partnerId, partnerName: candidate.name, orderId, attempt: triedThisRound.length, ackDeadline: state.deadlines.ack,
    });
    await recorder.flush();
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
        if (!reminded && d.reminder) return { at: Date.parse(d.reminder), fire: sendReminder };
        return d.ack ? { at: Date.parse(d.ack), fire: acknowledgementTimedOut } : null;
      case 'in_progress':
        return !state.overdue && d.fulfilment ? { at: Date.parse(d.fulfilment), fire: fulfilmentOverdue } : null;
      case 'awaiting_follow_up':
        return !followUpMissed && d.followUp ? { at: Date.parse(d.followUp), fire: followUpOverdue } : null;
      case 'awaiting_survey':
        return d.survey ? { at: Date.parse(d.survey), fire: surveyExpired } : null;
      default:
        return null;
    }
  }

  async function sendReminder(): Promise<void> {
    reminded = true;
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
    fulfilmentBreached = true;
    record('overdue', 'system', { kind: 'fulfilment', deadline: state.deadlines.fulfilment, partnerId: state.assignedPartnerId });
    record('escalated', 'system', { reason: 'fulfilment_overdue', partnerId: state.assignedPartnerId });
  }

  function followUpOverdue(): void {
    followUpMissed = true;
    state.overdue = true;
    record('overdue', 'system', { kind: 'follow_up', deadline: state.deadlines.followUp });
  }

  function surveyExpired(): void {
    record('survey_expired', 'system', {});
    close('no_response');
  }

  // ---- the main loop ----

  record('intake', input.openedBy, {
    category: intake.category, urgency: intake.urgency, channel: intake.channel,
    community: intake.resident.community, grid: intake.resident.grid ?? null, sla: sla.source,
  });

  await runCaseLoop({
    changed: () => changed,
    resetChanged: () => { changed = false; },
    settle: async () => { await sendQueuedNotifications(); await recorder.flush(); },
    finished: () => TERMINAL.includes(state.status),
    work: async () => {
      if (state.status !== 'dispatching') return false;
      await dispatchToNextPartner();
      return true;
    },
    nextDeadline,
  });
  return state;
}
