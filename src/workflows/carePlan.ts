/**
 * 一人一策: one care plan, for as long as it runs (years). The workflow owns the plan's
 * schedule: a timer to the next visit (moved when the plan changes), and per scheduled visit
 * a timer to its late and its missed instant. Check-in and check-out are Updates from the
 * visit's partner; staff cancel a visit, change, pause, resume or end the plan.
 *
 * Settled visits are written to the read model (care_plan_visits) and leave memory; the run
 * continues as new every few dozen visits (or when Temporal suggests it), carrying the state
 * and the next timeline seq, so history stays bounded. docs/care-plans.md.
 */
import { ParentClosePolicy, setHandler, startChild, uuid4 } from '@temporalio/workflow';
import {
  type CarePlanState, type CarePlanWorkflowInput, type CareService, type CareVisit, carePlanSnapshot, firstSlotAfter, hoursOf,
  initialCarePlanMemory, initialCarePlanState, installationDescription, scheduleProblems,
} from '../domain/carePlan';
import { caseWorkflowId } from '../domain/caseTypes';
import { SA } from '../domain/searchAttributes';
import type { ServiceRequestWorkflowInput } from '../domain/serviceRequest';
import { caseActivities, CaseKernel } from './caseKernel';
import { sooner } from './escalationChain';
import { carePlanBook } from './carePlanBook';
import { carePlanChainIfPatched } from './carePlanEscalations';
import * as cp from './carePlanMessages';
import { serviceRequest } from './serviceRequest';
import { invalidAction, invalidState, notYourOrder } from './validation';

const { resolveInstallationSla } = caseActivities;

/**
 * History events per run before the plan continues as new (unless the input names another
 * bound, or Temporal suggests it sooner): about two dozen weekly visits (docs/care-plans.md).
 */
export const CARE_PLAN_EVENTS_PER_RUN = 2000;

const iso = (ms: number) => new Date(ms).toISOString();

export async function carePlan(input: CarePlanWorkflowInput): Promise<CarePlanState> {
  const { caseId } = input;
  const now = () => Date.now();
  const kernel = new CaseKernel({
    type: 'care_plan',
    input: { ...input, continueAsNewAfterEvents: input.continueAsNewAfterEvents ?? CARE_PLAN_EVENTS_PER_RUN },
    state: initialCarePlanState(input), memory: initialCarePlanMemory(input), snapshot: carePlanSnapshot,
  });
  // In a continued run these are the state and memory carried from the run before.
  const { state, memory } = kernel;
  const { rhythm } = memory;
  memory.announceAt ??= now();
  const record = kernel.record.bind(kernel);
  // Missed visits climb the escalation chain on the care-plan policy's calendar; runs begun before keep one level (replay).
  const chain = carePlanChainIfPatched(kernel, input);
  const {
    openVisit, scheduledVisits, nextSlotDue, moreVisits, touch, tell, scheduleNextVisit, resolveEscalation, cancelScheduled, endPlan,
    applyChange, nextDeadline, writeVisits,
  } = carePlanBook(kernel, caseId, chain);

  // ---- the partner's updates: check-in and check-out (the facts of electronic visit verification) ----

  /** The visit, if it is open and the caller's: 403 before anything about its state is told. */
  function visitOfPartner(visitId: string, partnerId: string): CareVisit {
    const v = openVisit(visitId);
    if (!v) throw invalidState('not_open', `visit ${visitId} is not open on this plan`);
    if (v.partnerId !== partnerId) throw notYourOrder(`visit ${visitId} is not one of your organisation's`);
    return v;
  }

  setHandler(cp.getCarePlanState, () => state);

  setHandler(cp.checkInVisit, ({ visitId, carer, location, actor, partnerId }) => {
    const v = openVisit(visitId)!;
    v.status = 'in_progress';
    v.checkInAt = iso(now());
    v.carer = carer;
    v.location = location ?? null;
    touch(v);
    record('visit_checked_in', actor, { visitId, partnerId, carer, location: location ?? null, late: v.late });
    return state;
  }, {
    validator: ({ visitId, partnerId }) => {
      const v = visitOfPartner(visitId, partnerId);
      kernel.require('check_in', 'check in a visit of');
      if (v.status !== 'scheduled') throw invalidState(v.status, `visit ${visitId} is ${v.status}: it is checked in already`);
      if (now() < Date.parse(v.checkInFrom!)) {
        throw invalidState('scheduled', `visit ${visitId} is not due: check-in opens at ${v.checkInFrom} (due ${v.dueAt})`);
      }
    },
  });

  setHandler(cp.checkOutVisit, ({ visitId, services, note, actor, partnerId }) => {
    const v = openVisit(visitId)!;
    v.status = 'completed';
    v.checkOutAt = iso(now());
    v.services = services;
    v.note = note ?? null;
    v.durationMs = now() - Date.parse(v.checkInAt!);
    v.hours = hoursOf(v.durationMs);
    memory.totalDurationMs += v.durationMs;
    state.hoursTotal = hoursOf(memory.totalDurationMs);
    state.visits.completed += 1;
    touch(v);
    record('visit_checked_out', actor, { visitId, partnerId, services, hours: v.hours, checkInAt: v.checkInAt, checkOutAt: v.checkOutAt });
    resolveEscalation(actor, 'visit_completed');
    return state;
  }, {
    validator: ({ visitId, partnerId, services }) => {
      const v = visitOfPartner(visitId, partnerId);
      kernel.require('check_out', 'check out a visit of');
      if (v.status === 'scheduled') throw invalidState('scheduled', `visit ${visitId} is not checked in: check in first`);
      const unplanned = services.filter((s: CareService) => !v.plannedServices.includes(s));
      if (unplanned.length) throw invalidAction(`services: ${unplanned.join(', ')} not planned for visit ${visitId} (planned: ${v.plannedServices.join(', ')})`);
    },
  });

  // ---- staff and supervisors ----

  setHandler(cp.cancelVisit, ({ visitId, reason, actor }) => {
    cancelScheduled(openVisit(visitId)!, reason, actor);
    return state;
  }, {
    validator: ({ visitId }) => {
      kernel.require('cancel_visit', 'cancel a visit of');
      const v = openVisit(visitId);
      if (!v) throw invalidState('not_open', `visit ${visitId} is not open on this plan`);
      if (v.status !== 'scheduled') throw invalidState(v.status, `visit ${visitId} is ${v.status}: only a scheduled visit can be cancelled`);
    },
  });

  setHandler(cp.pauseCarePlan, ({ reason, actor }) => {
    state.status = 'paused';
    state.pause = { since: iso(now()), reason };
    for (const v of scheduledVisits()) cancelScheduled(v, `the plan is paused: ${reason}`, actor);
    record('plan_paused', actor, { reason });
    tell(state.partnerId, 'plan.changed', null, { change: 'paused', reason });
    return state;
  }, { validator: (_input) => kernel.require('pause') });

  setHandler(cp.resumeCarePlan, ({ actor }) => {
    state.status = 'active';
    state.pause = null;
    // The rhythm goes on where it would be: the slots that passed while paused are skipped.
    rhythm.nextSlot = firstSlotAfter(rhythm, now());
    memory.announceAt = now();
    record('plan_resumed', actor, { nextVisitDueAt: iso(nextSlotDue()) });
    tell(state.partnerId, 'plan.changed', null, { change: 'resumed', nextVisitDueAt: iso(nextSlotDue()) });
    return state;
  }, { validator: (_input) => kernel.require('resume') });

  setHandler(cp.endCarePlan, ({ reason, actor }) => {
    endPlan(reason, actor);
    return state;
  }, {
    validator: (_input) => {
      kernel.require('end');
      const inProgress = state.openVisits.find((v) => v.status === 'in_progress');
      if (inProgress) throw invalidState(state.status, `visit ${inProgress.visitId} is in progress: check it out first`);
    },
  });

  setHandler(cp.changeCarePlan, (change) => {
    applyChange(change);
    return state;
  }, {
    validator: (change) => {
      kernel.require('change');
      if (change.schedule) {
        const problems = scheduleProblems({ ...state.schedule, ...change.schedule });
        if (problems.length) throw invalidAction(problems.map((p) => `schedule.${p.path} ${p.message}`).join('; '));
        if (change.schedule.firstVisitAt && Date.parse(change.schedule.firstVisitAt) <= now()) throw invalidAction('schedule.firstVisitAt must be in the future');
      }
      if (change.endsAt && Date.parse(change.endsAt) <= now()) throw invalidAction('endsAt must be in the future');
    },
  });

  setHandler(cp.acknowledgeCareEscalation, ({ note, actor }) => {
    if (chain) {
      chain.acknowledge(actor, note);
      return state;
    }
    const e = state.escalation!;
    e.acknowledgedBy = actor;
    e.acknowledgedAt = iso(now());
    record('escalation_acknowledged', actor, { level: e.level, visitId: e.visitId, note });
    return state;
  }, {
    validator: (_input) => {
      kernel.require('acknowledge', 'acknowledge an escalation of');
      const waiting = chain ? chain.acknowledgeable : state.escalation !== null && !state.escalation.acknowledgedAt;
      if (!waiting) throw invalidState(state.status, 'the plan has no escalation waiting to be taken on');
    },
  });

  // ---- the main loop's work ----

  async function openInstallations(): Promise<boolean> {
    const pending = state.installations.filter((i) => !i.serviceRequestId);
    if (pending.length === 0) return false;
    const sla = await resolveInstallationSla();
    for (const installation of pending) {
      const srId = uuid4();
      installation.serviceRequestId = srId;
      const srInput: ServiceRequestWorkflowInput = {
        caseId: srId, sla, openedBy: input.openedBy, openedAt: iso(now()),
        intake: { resident: state.resident, category: 'housing', description: installationDescription(installation), urgency: 'normal', channel: 'home_visit' },
      };
      // Started as the API starts a request, and left running on its own when the plan moves on (ABANDON).
      await startChild(serviceRequest, {
        workflowId: caseWorkflowId('service_request', srId), args: [srInput], parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: SA.caseType, value: 'service_request' }, { key: SA.caseStatus, value: 'dispatching' },
          { key: SA.category, value: 'housing' }, { key: SA.community, value: state.resident.community },
        ],
      });
      record('installation_requested', 'system', { item: installation.item, serviceRequestId: srId });
    }
    return true;
  }

  async function work(): Promise<boolean> {
    if (chain && (await chain.sendNotices())) return true;
    if (state.status === 'active' && moreVisits() && now() >= memory.announceAt!) {
      scheduleNextVisit();
      return true;
    }
    if (state.endsAt && now() >= Date.parse(state.endsAt) && state.openVisits.every((v) => v.status === 'completed' || v.status === 'missed' || v.status === 'cancelled')) {
      endPlan('the plan reached its end date', 'system');
      return true;
    }
    return openInstallations();
  }

  if (!kernel.resumed) {
    record('intake', input.openedBy, {
      partnerId: state.partnerId, services: state.services, schedule: state.schedule, endsAt: state.endsAt,
      community: state.resident.community, installations: state.installations.map((i) => i.item),
    });
  }
  // Visit rows are written before the partner is told (the kernel's quiet point), so a partner
  // who got `visit.scheduled` finds the visit.
  const final = await kernel.runUntilFinished({
    work, nextDeadline: () => (chain ? sooner(nextDeadline(), chain.nextStep()) : nextDeadline()), writeReadModel: writeVisits,
  });
  // An escalation resolved or raised as the plan ended still reaches its contacts.
  if (chain && (await chain.sendNotices())) await kernel.flush();
  return final;
}
