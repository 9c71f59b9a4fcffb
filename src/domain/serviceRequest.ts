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

export const OPEN_SERVICE_REQUEST_STATUSES: readonly ServiceRequestStatus[] = SERVICE_REQUEST_STATUSES.filter(
  (s) => s !== 'closed' && s !== 'cancelled',
);

/** Input of the `serviceRequest` workflow: the intake plus what the API resolved when it started. */
export interface ServiceRequestWorkflowInput {
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
  sla: Record<string, string | number>;
  createdAt: string;
  acknowledgedAt: string | null;
  completedAt: string | null;
  closedAt: string | null;
  outcome: ServiceRequestOutcome | null;
  cancellation: { reason: string; by: string } | null;
}

/** Satisfaction rule of docs/domain.md: 4-5 satisfied; 1-3 unsatisfied; 1-2 also opens a supervisor review. */
export function surveyOutcome(score: number): { outcome: ServiceRequestOutcome; needsReview: boolean } {
  return { outcome: score >= 4 ? 'satisfied' : 'unsatisfied', needsReview: score <= 2 };
}
