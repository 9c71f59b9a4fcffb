import { parseIsoDuration } from './duration';
import type { EscalationStep } from './escalation';
import type { SlaClockSnapshot } from './slaClock';
import type { CaseType, Category, Urgency } from './vocabulary';

/** A policy's fields as the case keeps them (durations as text, counts, the escalation steps). */
export type SlaSource = Record<string, string | number | EscalationStep[]>;

/** A stored policy: a layer that sets some durations for a case type, maybe narrowed by category and urgency. */
export interface SlaPolicy {
  caseType: CaseType;
  category?: Category | null;
  urgency?: Urgency | null;
  ackTimeout?: string;
  reminderAfter?: string;
  fulfilmentTimeout?: string;
  followUpAfter?: string;
  surveyWindow?: string;
  maxDispatchAttempts?: number;
  supplementWindow?: string;
  reviewTimeout?: string;
  completionTarget?: string;
  /** Working-day calendar every duration counts on (default `always`); docs/sla-clocks.md. */
  calendar?: string;
  escalationSteps?: EscalationStep[];
  /** How long a service request may be on hold before it escalates (default P7D). */
  maxHold?: string;
}

/** What a service-request workflow keeps for its whole life: durations in ms, plus the source text. */
export interface ServiceRequestSlaSnapshot extends SlaClockSnapshot {
  ackTimeoutMs: number;
  reminderAfterMs: number;
  fulfilmentTimeoutMs: number;
  followUpAfterMs: number;
  surveyWindowMs: number;
  maxDispatchAttempts: number;
  source: SlaSource;
}

export interface RegistrationSlaSnapshot extends SlaClockSnapshot {
  supplementWindowMs: number;
  reviewTimeoutMs: number;
  completionTargetMs: number;
  surveyWindowMs: number;
  source: SlaSource;
}

/**
 * What a care plan keeps of its policy (docs/care-plans.md, "Escalations"): no durations of its
 * own (a plan's visit timings are its schedule), only the clock of its missed visits'
 * escalations: the calendar and the escalation steps, snapshotted at intake.
 */
export interface CarePlanSlaSnapshot extends SlaClockSnapshot {
  source: SlaSource;
}

/**
 * Shipped defaults. Urgent cases get the seed's 24-hour response (the property company's
 * repairman fixing an old man's power the same day); routine ones a few days.
 */
export const DEFAULT_SLA_POLICIES: readonly SlaPolicy[] = [
  {
    caseType: 'service_request',
    ackTimeout: 'PT2H', reminderAfter: 'PT1H', fulfilmentTimeout: 'P3D',
    followUpAfter: 'P2D', surveyWindow: 'P7D', maxDispatchAttempts: 3,
  },
  { caseType: 'service_request', urgency: 'urgent', ackTimeout: 'PT30M', reminderAfter: 'PT15M', fulfilmentTimeout: 'PT24H', followUpAfter: 'P1D' },
  { caseType: 'service_request', category: 'housing', urgency: 'urgent', ackTimeout: 'PT30M', reminderAfter: 'PT10M', fulfilmentTimeout: 'PT24H' },
  { caseType: 'service_request', category: 'medical', urgency: 'urgent', ackTimeout: 'PT15M', reminderAfter: 'PT5M', fulfilmentTimeout: 'PT4H' },
  {
    caseType: 'registration',
    supplementWindow: 'P15D', reviewTimeout: 'PT2H', completionTarget: 'PT20M', surveyWindow: 'P7D',
  },
];

/** How specific a policy is: category outranks urgency; a policy for another category or urgency does not apply. */
function specificity(policy: SlaPolicy, category?: string | null, urgency?: string | null): number {
  if (policy.category && policy.category !== category) return -1;
  if (policy.urgency && policy.urgency !== urgency) return -1;
  return (policy.category ? 2 : 0) + (policy.urgency ? 1 : 0);
}

/**
 * Layer every applicable policy, least specific first, so the most specific one wins
 * for each field it sets and inherits the rest. Stored policies override the defaults
 * of the same specificity.
 */
export function mergeApplicablePolicies(
  stored: readonly SlaPolicy[],
  key: { caseType: CaseType; category?: string | null; urgency?: string | null },
): SlaSource {
  const layers = [...DEFAULT_SLA_POLICIES.map((p) => ({ p, stored: 0 })), ...stored.map((p) => ({ p, stored: 1 }))]
    .filter(({ p }) => p.caseType === key.caseType)
    .map((l) => ({ ...l, rank: specificity(l.p, key.category, key.urgency) }))
    .filter((l) => l.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.stored - b.stored);
  const merged: SlaSource = {};
  for (const { p } of layers) {
    for (const [field, value] of Object.entries(p)) {
      if (field === 'caseType' || field === 'category' || field === 'urgency') continue;
      if (value !== undefined && value !== null) merged[field] = value as SlaSource[string];
    }
  }
  return merged;
}

function ms(source: SlaSource, field: string): number {
  const value = parseIsoDuration(String(source[field]));
  if (value === null) throw new Error(`SLA policy field ${field} is not an ISO 8601 duration: ${source[field]}`);
  return value;
}

export function resolveServiceRequestSla(
  stored: readonly SlaPolicy[], category: Category, urgency: Urgency,
): ServiceRequestSlaSnapshot {
  const source = mergeApplicablePolicies(stored, { caseType: 'service_request', category, urgency });
  return {
    ackTimeoutMs: ms(source, 'ackTimeout'),
    reminderAfterMs: ms(source, 'reminderAfter'),
    fulfilmentTimeoutMs: ms(source, 'fulfilmentTimeout'),
    followUpAfterMs: ms(source, 'followUpAfter'),
    surveyWindowMs: ms(source, 'surveyWindow'),
    maxDispatchAttempts: Number(source.maxDispatchAttempts),
    source,
  };
}

export function resolveRegistrationSla(stored: readonly SlaPolicy[]): RegistrationSlaSnapshot {
  const source = mergeApplicablePolicies(stored, { caseType: 'registration' });
  return {
    supplementWindowMs: ms(source, 'supplementWindow'),
    reviewTimeoutMs: ms(source, 'reviewTimeout'),
    completionTargetMs: ms(source, 'completionTarget'),
    surveyWindowMs: ms(source, 'surveyWindow'),
    source,
  };
}

/** The care-plan policy: one for every plan (not split by category, urgency, service or community). */
export function resolveCarePlanSla(stored: readonly SlaPolicy[]): CarePlanSlaSnapshot {
  return { source: mergeApplicablePolicies(stored, { caseType: 'care_plan' }) };
}
