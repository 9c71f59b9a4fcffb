/**
 * 一人一策: a care plan for one resident (weekly home visits by one partner, one-off
 * installations). Plain types and the pure rules of the schedule and of electronic visit
 * verification (EVV); no I/O, safe to import from workflow code. docs/care-plans.md.
 */
import { parseIsoDuration } from './duration';
import type { CaseRunInput, CaseSnapshot } from './caseEvents';
import type { EscalationRecord } from './escalation';
import { visibleEscalations } from './escalationChain';
import type { CarePlanSlaSnapshot } from './sla';
import type { Resident } from './serviceRequest';

export const CARE_SERVICES = [
  'rehab_massage', 'health_monitoring', 'daily_care', 'medical_escort', 'psychological_support', 'housekeeping',
] as const;
export type CareService = (typeof CARE_SERVICES)[number];

export const INSTALLATION_ITEMS = ['anti_fall_handrail', 'emergency_call_device', 'other'] as const;
export type InstallationItem = (typeof INSTALLATION_ITEMS)[number];

export const CARE_PLAN_STATUSES = ['active', 'paused', 'ended', 'cancelled'] as const;
export type CarePlanStatus = (typeof CARE_PLAN_STATUSES)[number];
/** `cancelled`: ended before its first visit came due; `ended`: ended after that (by staff or at `endsAt`). */
export const TERMINAL_CARE_PLAN_STATUSES: readonly CarePlanStatus[] = ['ended', 'cancelled'];

export const VISIT_STATUSES = ['scheduled', 'in_progress', 'completed', 'missed', 'cancelled'] as const;
export type VisitStatus = (typeof VISIT_STATUSES)[number];
export const SETTLED_VISIT_STATUSES: readonly VisitStatus[] = ['completed', 'missed', 'cancelled'];

/** The schedule as the API takes it: ISO 8601 instant and durations. */
export interface CareSchedule {
  firstVisitAt: string;
  every: string;
  visitLength: string;
  lateAfter: string;
  missedAfter: string;
}

export interface ScheduleSpans {
  everyMs: number;
  visitLengthMs: number;
  lateAfterMs: number;
  missedAfterMs: number;
}

export interface InstallationRequest { item: InstallationItem; note?: string | null }

/** The body of `POST /v1/care-plans`. */
export interface CarePlanIntake {
  resident: Resident;
  partnerId: string;
  services: CareService[];
  schedule: CareSchedule;
  endsAt?: string | null;
  installations?: InstallationRequest[];
}

export interface FieldProblem { path: string; message: string }

/**
 * What is wrong with a schedule (paths relative to the schedule object): every duration
 * must parse; a visit must fit in its interval (`every` >= `visitLength`); a visit is late
 * before it is missed (`lateAfter` < `missedAfter`).
 */
export function scheduleProblems(s: Partial<CareSchedule>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const spans: Partial<Record<keyof ScheduleSpans, number>> = {};
  for (const [field, key] of [['every', 'everyMs'], ['visitLength', 'visitLengthMs'], ['lateAfter', 'lateAfterMs'], ['missedAfter', 'missedAfterMs']] as const) {
    const text = s[field];
    const ms = typeof text === 'string' ? parseIsoDuration(text) : null;
    if (ms === null || ms <= 0) problems.push({ path: field, message: 'must be a positive ISO 8601 duration such as P7D, PT1H or PT20S' });
    else spans[key] = ms;
  }
  if (typeof s.firstVisitAt !== 'string' || Number.isNaN(Date.parse(s.firstVisitAt))) {
    problems.push({ path: 'firstVisitAt', message: 'must be an ISO 8601 instant' });
  }
  if (spans.everyMs !== undefined && spans.visitLengthMs !== undefined && spans.everyMs < spans.visitLengthMs) {
    problems.push({ path: 'every', message: `must be at least visitLength (${s.visitLength}): a visit must end before the next one is due` });
  }
  if (spans.lateAfterMs !== undefined && spans.missedAfterMs !== undefined && spans.lateAfterMs >= spans.missedAfterMs) {
    problems.push({ path: 'lateAfter', message: `must be shorter than missedAfter (${s.missedAfter}): a visit is late before it is missed` });
  }
  return problems;
}

/** The schedule's durations in milliseconds (call after `scheduleProblems` found none). */
export function scheduleSpans(s: CareSchedule): ScheduleSpans {
  return {
    everyMs: parseIsoDuration(s.every)!, visitLengthMs: parseIsoDuration(s.visitLength)!,
    lateAfterMs: parseIsoDuration(s.lateAfter)!, missedAfterMs: parseIsoDuration(s.missedAfter)!,
  };
}

/**
 * The rhythm the visits follow: slot k is due at `anchorAt + k × every`. A plan starts with
 * its `firstVisitAt` as the anchor; a schedule change starts a new rhythm from the next
 * visit on, and a resume skips the slots that passed while the plan was paused.
 */
export interface VisitRhythm {
  anchorAt: string;
  everyMs: number;
  /** The slot the next visit to be scheduled takes. */
  nextSlot: number;
}

export const slotDueAt = (r: VisitRhythm, slot: number): number => Date.parse(r.anchorAt) + slot * r.everyMs;

/** The first slot (from `r.nextSlot` on) due strictly after `t`. */
export function firstSlotAfter(r: VisitRhythm, t: number): number {
  const elapsed = t - Date.parse(r.anchorAt);
  const slot = elapsed < 0 ? 0 : Math.floor(elapsed / r.everyMs) + 1;
  return Math.max(r.nextSlot, slot);
}

/** The six facts of electronic visit verification, as the partner reports them. */
export interface CheckInFacts {
  /** Who served (the carer's name or staff number). */
  carer: string;
  /** Where: coordinates from the phone, or a description. */
  location?: { lat: number; lng: number } | string | null;
}
export interface CheckOutFacts {
  /** What was done (the services of the plan that were delivered). */
  services: CareService[];
  note?: string | null;
}

/** One visit of a plan. The resident and the date are the plan's and the visit's own; start and end are check-in and check-out. */
export interface CareVisit {
  visitId: string;
  visitNo: number;
  partnerId: string;
  dueAt: string;
  status: VisitStatus;
  /** No check-in by `dueAt + lateAfter` (stays true once set, also when the visit then happens). */
  late: boolean;
  /** The services the plan asks for at this visit. */
  plannedServices: CareService[];
  /** When check-in opens, and when the visit turns late and missed (fixed when the visit is scheduled; not in the read model). */
  checkInFrom?: string;
  lateAt?: string;
  missedAt?: string;
  checkInAt?: string | null;
  checkOutAt?: string | null;
  carer?: string | null;
  location?: CheckInFacts['location'];
  services?: CareService[] | null;
  note?: string | null;
  /** Check-out minus check-in, in milliseconds (exact), and in hours (rounded for display). */
  durationMs?: number | null;
  hours?: number | null;
  cancelReason?: string | null;
  /** Monotonic across the plan's whole life (every run): the read model keeps the highest. */
  rev: number;
}

/** A visit as the read model stores it: with its plan and the plan's community. */
export interface CareVisitRecord extends CareVisit { caseId: string; community: string }

/** Check-in opens `lateAfter` before the visit is due (as early as one may be late) and closes when it is missed. */
export function checkInOpensAt(v: Pick<CareVisit, 'dueAt'>, spans: Pick<ScheduleSpans, 'lateAfterMs'>): number {
  return Date.parse(v.dueAt) - spans.lateAfterMs;
}

export const lateAt = (v: Pick<CareVisit, 'dueAt'>, s: ScheduleSpans): number => Date.parse(v.dueAt) + s.lateAfterMs;
export const missedAt = (v: Pick<CareVisit, 'dueAt'>, s: ScheduleSpans): number => Date.parse(v.dueAt) + s.missedAfterMs;

/** Hours for display: four decimals, about a third of a second (totals are summed from exact milliseconds). */
export const hoursOf = (ms: number): number => Math.round(ms / 360) / 10_000;

export interface InstallationState {
  item: InstallationItem;
  note: string | null;
  /** The linked service request (category housing), once opened. */
  serviceRequestId: string | null;
  /** `requested` until the service request's own status is known (the API reads it from the read model). */
  status: string;
}

export interface CareEscalation {
  level: number;
  reason: 'visit_missed';
  visitId: string;
  since: string;
  acknowledgedBy?: string | null;
  acknowledgedAt?: string | null;
  /** On the escalation chain (plans opened since care-plan-escalation-chain): the escalation's number and its next climb. */
  escalation?: number;
  nextLevelAt?: string | null;
}

/** The live state of a plan (the workflow's query answer and every update's). */
export interface CarePlanState {
  id: string;
  caseType: 'care_plan';
  status: CarePlanStatus;
  resident: Resident;
  partnerId: string;
  services: CareService[];
  schedule: CareSchedule;
  endsAt: string | null;
  nextVisit: { visitId: string; dueAt: string } | null;
  visits: { completed: number; missed: number; cancelled: number; late: number };
  hoursTotal: number;
  installations: InstallationState[];
  escalation: CareEscalation | null;
  /**
   * Every escalation of the plan on the chain (docs/sla-clocks.md), resolved ones included;
   * absent in plans whose runs began before the care-plan-escalation-chain patch.
   */
  escalations?: EscalationRecord[];
  pause: { since: string; reason: string } | null;
  createdAt: string;
  endedAt: string | null;
  endReason: string | null;
  /** Visits scheduled and not yet settled (settled ones live in the read model). */
  openVisits: CareVisit[];
}

/** The workflow's own bookkeeping (carried across runs with the state; plain JSON). */
export interface CarePlanMemory {
  rhythm: VisitRhythm;
  /** When the next visit is scheduled (told to the partner): the previous visit's due time; null = at once. */
  announceAt: number | null;
  nextVisitNo: number;
  /** Revisions of visit rows, monotonic over the plan's life. */
  visitRev: number;
  /** Check-out minus check-in over every completed visit, exact. */
  totalDurationMs: number;
  /** Visits changed since their last read-model write. */
  unwritten: string[];
  /**
   * The clock of the missed visits' escalations (calendar and steps), fixed when the chain first
   * applies to the plan: the intake's snapshot, or the defaults of that release for plans opened
   * before it (so a later release's defaults never reach a running plan).
   */
  escalationClock?: CarePlanSlaSnapshot;
  /** The visit whose miss the current chain escalation is about. */
  escalationVisitId?: string | null;
}

export interface CarePlanWorkflowInput extends CaseRunInput<CarePlanState, CarePlanMemory> {
  caseId: string;
  intake: CarePlanIntake;
  openedBy: string;
  openedAt: string;
  /** The care-plan SLA policy's clock at intake (absent in plans opened before it). */
  sla?: CarePlanSlaSnapshot;
}

export function initialCarePlanMemory(input: Pick<CarePlanWorkflowInput, 'intake'>): CarePlanMemory {
  const { schedule } = input.intake;
  return {
    rhythm: { anchorAt: new Date(Date.parse(schedule.firstVisitAt)).toISOString(), everyMs: scheduleSpans(schedule).everyMs, nextSlot: 0 },
    announceAt: null, nextVisitNo: 1, visitRev: 0, totalDurationMs: 0, unwritten: [],
  };
}

export const visitIdOf = (visitNo: number): string => `visit-${visitNo}`;

/** The plan's state before its workflow has run (what POST answers without waiting for a worker). */
export function initialCarePlanState(input: CarePlanWorkflowInput): CarePlanState {
  const { intake } = input;
  return {
    id: input.caseId, caseType: 'care_plan', status: 'active', resident: intake.resident, partnerId: intake.partnerId,
    services: intake.services, schedule: intake.schedule, endsAt: intake.endsAt ?? null,
    nextVisit: { visitId: visitIdOf(1), dueAt: new Date(Date.parse(intake.schedule.firstVisitAt)).toISOString() },
    visits: { completed: 0, missed: 0, cancelled: 0, late: 0 }, hoursTotal: 0,
    installations: (intake.installations ?? []).map((i) => ({ item: i.item, note: i.note ?? null, serviceRequestId: null, status: 'requested' })),
    escalation: null, pause: null, createdAt: input.openedAt, endedAt: null, endReason: null, openVisits: [],
  };
}

/** A visit as scheduled: its due time and the instants that follow from it under the plan's schedule. */
export function plannedVisit(
  visitNo: number, dueAt: number, partnerId: string, services: CareService[], spans: ScheduleSpans,
): CareVisit {
  const v: CareVisit = {
    visitId: visitIdOf(visitNo), visitNo, partnerId, dueAt: new Date(dueAt).toISOString(), status: 'scheduled', late: false,
    plannedServices: [...services], rev: 0,
  };
  return retimed(v, dueAt, spans);
}

/** The same visit moved to another due time (a schedule change). */
export function retimed(v: CareVisit, dueAt: number, spans: ScheduleSpans): CareVisit {
  const at = (ms: number) => new Date(ms).toISOString();
  return {
    ...v, dueAt: at(dueAt), checkInFrom: at(dueAt - spans.lateAfterMs), lateAt: at(dueAt + spans.lateAfterMs),
    missedAt: at(dueAt + spans.missedAfterMs),
  };
}

const INSTALLATION_LABELS: Record<InstallationItem, string> = {
  anti_fall_handrail: '防跌倒扶手', emergency_call_device: '紧急呼叫设备', other: '其他适老化改造',
};

/** The description of an installation's service request (the partner reads it; no resident data beyond the case's own). */
export function installationDescription(i: Pick<InstallationState, 'item' | 'note'>): string {
  return `一人一策 安装${INSTALLATION_LABELS[i.item]} (${i.item})${i.note ? `：${i.note}` : ''}`;
}

/** The plan's row in the read model (`cases`, type care_plan): what lists, deadlines and reports read. */
export function carePlanSnapshot(s: CarePlanState, _memory: CarePlanMemory, workflowId: string): CaseSnapshot {
  const escalationOpen = s.escalation !== null && !s.escalation.acknowledgedAt;
  // On the chain the deadline is the next climb (at the top level, the escalation's start: breached until taken on).
  const escalationDue = escalationOpen ? (s.escalation!.nextLevelAt ?? s.escalation!.since) : null;
  const missedTimes = s.openVisits.filter((v) => v.status === 'scheduled' && v.missedAt).map((v) => Date.parse(v.missedAt!));
  return {
    id: s.id, type: 'care_plan', workflowId, status: s.status, category: null, urgency: null,
    community: s.resident.community, partnerId: s.partnerId, overdue: escalationOpen, reopenCount: 0, dispatchAttempts: 0,
    deadlines: {
      ...(missedTimes.length ? { check_in: new Date(Math.min(...missedTimes)).toISOString() } : {}),
      ...(escalationDue ? { escalation: escalationDue } : {}),
    },
    createdAt: s.createdAt, acknowledgedAt: null, completedAt: null, closedAt: s.endedAt, outcome: null, satisfaction: null,
    details: { ...s, ...(s.escalations ? { escalations: visibleEscalations(s.escalations) } : {}) },
  };
}
