/**
 * The visits of one care plan, as the workflow keeps them: scheduling on the plan's rhythm,
 * late and missed, cancelling, ending, a change of plan from the next visit on, the plan's
 * deadlines, and writing the visits to the read model. Plain functions over the kernel's
 * state and memory (so they travel with continue-as-new); the workflow's handlers call them.
 */
import {
  type CarePlanMemory, type CarePlanState, type CareVisit, plannedVisit, retimed, scheduleSpans, SETTLED_VISIT_STATUSES,
  slotDueAt, visitIdOf,
} from '../domain/carePlan';
import { caseActivities, type CaseKernel, type Deadline } from './caseKernel';
import type { CarePlanChain } from './carePlanEscalations';
import type * as cp from './carePlanMessages';

const { recordCareVisits } = caseActivities;
const iso = (ms: number) => new Date(ms).toISOString();

export type CarePlanKernel = CaseKernel<'care_plan', CarePlanState, CarePlanMemory>;

/** `chain`: the plan's escalation chain (carePlanEscalations.ts), null in runs begun before it. */
export function carePlanBook(kernel: CarePlanKernel, caseId: string, chain: CarePlanChain | null = null) {
  const { state, memory } = kernel;
  const { rhythm } = memory;
  const now = () => Date.now();
  const record = kernel.record.bind(kernel);
  let spans = scheduleSpans(state.schedule);

  const nextSlotDue = () => slotDueAt(rhythm, rhythm.nextSlot);
  const moreVisits = () => state.endsAt === null || nextSlotDue() < Date.parse(state.endsAt);
  const openVisit = (visitId: string) => state.openVisits.find((v) => v.visitId === visitId && !SETTLED_VISIT_STATUSES.includes(v.status));
  const scheduledVisits = () => state.openVisits.filter((v) => v.status === 'scheduled');
  /** Scheduled visits whose check-in has not opened: a change of plan applies to these. */
  const upcomingVisits = () => scheduledVisits().filter((v) => Date.parse(v.checkInFrom!) > now());

  function touch(v: CareVisit): void {
    v.rev = ++memory.visitRev;
    if (!memory.unwritten.includes(v.visitId)) memory.unwritten.push(v.visitId);
    kernel.wake();
    const next = scheduledVisits().sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt))[0];
    state.nextVisit = next ? { visitId: next.visitId, dueAt: next.dueAt } : null;
  }

  function visitCase(v: CareVisit, withResident = false): Record<string, unknown> {
    const { name, phone, community, compound, grid, address, flags } = state.resident;
    return {
      planId: caseId, visitId: v.visitId, dueAt: v.dueAt, checkInFrom: v.checkInFrom, lateAt: v.lateAt, missedAt: v.missedAt,
      services: v.plannedServices, resident: withResident ? { name, phone, community, compound, grid, address, flags } : { community },
    };
  }

  function tell(partnerId: string, event: string, v: CareVisit | null, extra: Record<string, unknown> = {}): void {
    kernel.queueNotification({
      partnerId, event, orderId: v?.visitId ?? caseId, deadline: v?.missedAt,
      case: { ...(v ? visitCase(v, event === 'visit.scheduled') : { planId: caseId }), ...extra },
    });
  }

  function scheduleNextVisit(): void {
    const v = plannedVisit(memory.nextVisitNo++, nextSlotDue(), state.partnerId, state.services, spans);
    memory.announceAt = Date.parse(v.dueAt);
    rhythm.nextSlot += 1;
    state.openVisits.push(v);
    touch(v);
    record('visit_scheduled', 'system', { visitId: v.visitId, partnerId: v.partnerId, dueAt: v.dueAt, services: v.plannedServices });
    tell(v.partnerId, 'visit.scheduled', v);
  }

  function markLate(v: CareVisit): void {
    v.late = true;
    state.visits.late += 1;
    touch(v);
    record('visit_late', 'system', { visitId: v.visitId, partnerId: v.partnerId, dueAt: v.dueAt });
    tell(v.partnerId, 'visit.late', v);
  }

  function markMissed(v: CareVisit): void {
    v.status = 'missed';
    state.visits.missed += 1;
    // `late` counts the visits that turned late and were not missed: a miss is counted once, as a miss.
    if (v.late) state.visits.late -= 1;
    touch(v);
    record('visit_missed', 'system', { visitId: v.visitId, partnerId: v.partnerId, dueAt: v.dueAt });
    tell(v.partnerId, 'visit.missed', v);
    if (chain) return chain.visitMissed(v.visitId);
    // Every miss (re)raises the escalation, also one already taken on: a supervisor sees each.
    state.escalation = { level: 1, reason: 'visit_missed', visitId: v.visitId, since: iso(now()) };
    record('escalation_raised', 'system', { level: 1, reason: 'visit_missed', visitId: v.visitId, partnerId: v.partnerId });
  }

  function resolveEscalation(actor: string, cause: string): void {
    if (chain) return chain.resolve(actor, cause);
    if (!state.escalation) return;
    record('escalation_resolved', actor, { level: state.escalation.level, visitId: state.escalation.visitId, cause });
    state.escalation = null;
  }

  function cancelScheduled(v: CareVisit, reason: string, actor: string): void {
    v.status = 'cancelled';
    v.cancelReason = reason;
    state.visits.cancelled += 1;
    touch(v);
    record('visit_cancelled', actor, { visitId: v.visitId, partnerId: v.partnerId, reason });
    tell(v.partnerId, 'visit.cancelled', v, { reason });
  }

  function endPlan(reason: string, actor: string): void {
    for (const v of scheduledVisits()) cancelScheduled(v, 'the plan has ended', actor);
    // A plan that ends before any visit happened or was missed was in effect never carried out.
    state.status = state.visits.completed + state.visits.missed > 0 ? 'ended' : 'cancelled';
    state.endedAt = iso(now());
    state.endReason = reason;
    state.pause = null;
    state.nextVisit = null;
    record('plan_ended', actor, { reason, status: state.status, visits: state.visits, hoursTotal: state.hoursTotal });
    tell(state.partnerId, 'plan.ended', null, { reason });
    resolveEscalation(actor, 'plan_ended');
  }

  /** PATCH: from the next visit on. Visits already due or in progress stay as they are, with their partner. */
  function applyChange(c: cp.ChangeCarePlan): void {
    const formerPartner = state.partnerId;
    const upcoming = upcomingVisits();
    if (c.services) state.services = c.services;
    if (c.partnerId) state.partnerId = c.partnerId;
    if (c.endsAt !== undefined) state.endsAt = c.endsAt;
    if (c.schedule) {
      state.schedule = { ...state.schedule, ...c.schedule };
      spans = scheduleSpans(state.schedule);
      // A new rhythm: from the given firstVisitAt, else from the next visit's date under the old one.
      const anchor = c.schedule.firstVisitAt ? Date.parse(c.schedule.firstVisitAt) : upcoming[0] ? Date.parse(upcoming[0].dueAt) : nextSlotDue();
      Object.assign(rhythm, { anchorAt: iso(anchor), everyMs: spans.everyMs, nextSlot: 0 });
      memory.announceAt = now();
    }
    upcoming.forEach((v, i) => {
      if (c.schedule && i > 0) return cancelScheduled(v, 'the schedule changed', c.actor);
      const wasPartner = v.partnerId;
      const moved = c.schedule ? retimed(v, slotDueAt(rhythm, rhythm.nextSlot++), spans) : v;
      Object.assign(v, moved, { partnerId: state.partnerId, plannedServices: [...state.services] });
      if (c.schedule) memory.announceAt = Date.parse(v.dueAt);
      if (state.endsAt && Date.parse(v.dueAt) >= Date.parse(state.endsAt)) return cancelScheduled(v, 'the plan ends before this visit', c.actor);
      touch(v);
      if (wasPartner !== v.partnerId) tell(wasPartner, 'visit.cancelled', v, { reason: 'the visit moved to another partner' });
      tell(v.partnerId, 'visit.scheduled', v);
    });
    const fromVisit = upcoming[0]?.visitId ?? visitIdOf(memory.nextVisitNo);
    const changes = {
      ...(c.schedule ? { schedule: state.schedule } : {}), ...(c.services ? { services: c.services } : {}),
      ...(c.partnerId ? { partnerId: c.partnerId } : {}), ...(c.endsAt !== undefined ? { endsAt: c.endsAt } : {}),
    };
    record('plan_changed', c.actor, { ...changes, fromVisit, formerPartnerId: formerPartner });
    tell(formerPartner, 'plan.changed', null, { changes, fromVisit });
    if (state.partnerId !== formerPartner) tell(state.partnerId, 'plan.changed', null, { changes, fromVisit });
  }

  function nextDeadline(): Deadline | null {
    const deadlines: Deadline[] = [];
    if (state.status === 'active' && moreVisits()) deadlines.push({ at: memory.announceAt!, fire: scheduleNextVisit });
    for (const v of scheduledVisits()) {
      if (!v.late) deadlines.push({ at: Date.parse(v.lateAt!), fire: () => markLate(v) });
      else deadlines.push({ at: Date.parse(v.missedAt!), fire: () => markMissed(v) });
    }
    // Only wakes the loop: `work` ends the plan once its visits have settled.
    if (state.endsAt && Date.parse(state.endsAt) > now()) deadlines.push({ at: Date.parse(state.endsAt), fire: () => undefined });
    return deadlines.reduce<Deadline | null>((soonest, d) => (!soonest || d.at < soonest.at ? d : soonest), null);
  }

  /** The visits changed since the last write, upserted by (plan, visit) and revision; settled ones then leave memory. */
  async function writeVisits(): Promise<void> {
    while (memory.unwritten.length > 0) {
      const ids = memory.unwritten.splice(0);
      const visits = state.openVisits.filter((v) => ids.includes(v.visitId)).map((v) => ({ ...v, caseId, community: state.resident.community }));
      await recordCareVisits({ visits });
      state.openVisits = state.openVisits.filter((v) => !SETTLED_VISIT_STATUSES.includes(v.status) || memory.unwritten.includes(v.visitId));
    }
  }

  return {
    openVisit, scheduledVisits, nextSlotDue, moreVisits, touch, tell, scheduleNextVisit, markLate, markMissed, resolveEscalation,
    cancelScheduled, endPlan, applyChange, nextDeadline, writeVisits,
  };
}
