import type { EscalationRecord } from './escalation';
import { clockDetails, nextEscalationStepAt } from './escalationChain';
import type { SlaSource } from './sla';
import type { CaseRunInput, CaseSnapshot } from './caseEvents';
import type { ServiceRequestSlaSnapshot } from './sla';
import type { Category, Channel, ResidentFlag, Urgency } from './vocabulary';

export interface Resident {
  name: string;
  phone: string;
  community: string;
  compound?: string;
  grid?: string;
  address?: string;
  flags?: ResidentFlag[];
}

/** The body of `POST /v1/service-requests` (民生诉求 intake). */
export interface ServiceRequestIntake {
  resident: Resident;
  category: Category;
  description: string;
  urgency: Urgency;
  channel: Channel;
}

export const SERVICE_REQUEST_STATUSES = [
  'dispatching', 'awaiting_ack', 'in_progress', 'escalated',
  'awaiting_follow_up', 'awaiting_survey', 'closed', 'cancelled',
] as const;
export type ServiceRequestStatus = (typeof SERVICE_REQUEST_STATUSES)[number];

export const SERVICE_REQUEST_OUTCOMES = ['satisfied', 'unsatisfied', 'no_response'] as const;
export type ServiceRequestOutcome = (typeof SERVICE_REQUEST_OUTCOMES)[number];


/** Input of the `serviceRequest` workflow: the intake plus what the API resolved when it started. */
export interface ServiceRequestWorkflowInput extends CaseRunInput<ServiceRequestState, ServiceRequestMemory> {
  caseId: string;
  intake: ServiceRequestIntake;
  sla: ServiceRequestSlaSnapshot;
  /** Who opened it, e.g. `staff:<key id>`. */
  openedBy: string;
  /** When the API accepted it (the workflow's createdAt, so the API can answer before a worker runs). */
  openedAt: string;
}

export interface ExtensionRequest {
  extraTimeMs: number;
  extraTime: string;
  reason: string;
  requestedAt: string;
  decision: 'pending' | 'approved' | 'refused';
}

/** The live state of a resident request (returned by the workflow's query and by every update). */
export interface ServiceRequestState {
  id: string;
  caseType: 'service_request';
  status: ServiceRequestStatus;
  category: Category;
  urgency: Urgency;
  channel: Channel;
  description: string;
  resident: Resident;
  assignedPartnerId: string | null;
  currentOrderId: string | null;
  dispatchAttempts: number;
  overdue: boolean;
  reopenCount: number;
  deadlines: {
    ack?: string;
    reminder?: string;
    fulfilment?: string;
    followUp?: string;
    survey?: string;
  };
  extension: ExtensionRequest | null;
  completion: { note: string; hoursSpent: number | null; at: string } | null;
  survey: { score: number; comment: string | null; at: string } | null;
  sla: SlaSource;
  createdAt: string;
  acknowledgedAt: string | null;
  completedAt: string | null;
  closedAt: string | null;
  outcome: ServiceRequestOutcome | null;
  cancellation: { reason: string; by: string } | null;
  // ---- working-day clocks and the escalation chain (docs/sla-clocks.md); absent in cases opened before ----
  /** Every escalation of the case, resolved ones included. */
  escalations?: EscalationRecord[];
  /** Set while the fulfilment clock is stopped, waiting on the resident. */
  onHold?: { since: string; reason: HoldReason; note: string | null; by: string } | null;
  /** Holds so far and the working time they stopped the clock for. */
  held?: { count: number; workingMs: number };
  /** Deadline kinds whose count ran into a year whose holiday notice is not in the data. */
  provisionalDeadlines?: string[];
}

export const HOLD_REASONS = ['resident_unavailable', 'awaiting_parts', 'resident_request', 'other'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** Satisfaction rule of docs/domain.md: 4-5 satisfied; 1-3 unsatisfied; 1-2 also opens a supervisor review. */
export function surveyOutcome(score: number): { outcome: ServiceRequestOutcome; needsReview: boolean } {
  return { outcome: score >= 4 ? 'satisfied' : 'unsatisfied', needsReview: score <= 2 };
}

/** Progress notes one order may carry: each is an Update in the case's history, so a partner cannot fill it. */
export const MAX_PROGRESS_NOTES_PER_ORDER = 50;

/** What the workflow keeps besides the state it shows: carried across continue-as-new. */
export interface ServiceRequestMemory {
  /** Partners tried in this dispatch round (a reopen starts a new round). */
  triedThisRound: string[];
  reminded: boolean;
  followUpMissed: boolean;
  /** The fulfilment deadline passed at some point (stays true after an extension or completion). */
  fulfilmentBreached: boolean;
  /** Progress notes on the current order. */
  progressNotes: number;
  /** When the current hold passes maxHold (ms), until it has escalated; absent in cases opened before holds. */
  holdDueAt?: number | null;
}

export const initialServiceRequestMemory = (): ServiceRequestMemory => ({
  triedThisRound: [], reminded: false, followUpMissed: false, fulfilmentBreached: false, progressNotes: 0,
});

/** The state before the workflow has run: what POST answers without waiting for a worker, and where the workflow starts. */
export function initialServiceRequestState(input: ServiceRequestWorkflowInput): ServiceRequestState {
  const { intake } = input;
  return {
    id: input.caseId, caseType: 'service_request', status: 'dispatching', category: intake.category, urgency: intake.urgency,
    channel: intake.channel, description: intake.description, resident: intake.resident, assignedPartnerId: null,
    currentOrderId: null, dispatchAttempts: 0, overdue: false, reopenCount: 0, deadlines: {}, extension: null,
    completion: null, survey: null, sla: input.sla.source, createdAt: input.openedAt, acknowledgedAt: null,
    completedAt: null, closedAt: null, outcome: null, cancellation: null,
  };
}

/** The read-model row of the case. */
export function serviceRequestSnapshot(state: ServiceRequestState, memory: ServiceRequestMemory, workflowId: string): CaseSnapshot {
  const d = state.deadlines;
  return {
    id: state.id,
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
    deadlines: {
      ack: d.ack,
      // While on hold the fulfilment clock is stopped: not a deadline anyone must meet now.
      fulfilment: state.onHold ? undefined : d.fulfilment,
      follow_up: d.followUp,
      survey: d.survey,
      ...clockDeadlines(state, memory),
    },
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
      fulfilmentBreached: memory.fulfilmentBreached,
      sla: state.sla,
      ...clockDetails(state),
    },
  };
}

/** The deadlines of the clocks: the next escalation step, and when the current hold passes maxHold. */
function clockDeadlines(state: ServiceRequestState, memory: ServiceRequestMemory): Record<string, string | undefined> {
  const next = nextEscalationStepAt(state.escalations ?? []);
  return {
    ...(next !== null ? { escalation: new Date(next).toISOString() } : {}),
    ...(state.onHold && memory.holdDueAt ? { hold: new Date(memory.holdDueAt).toISOString() } : {}),
  };
}

