import type { CaseType } from './vocabulary';

/** Who did a thing: `system` for timers and the workflow itself, else `<role>:<key id>`. */
export type Actor = string;

/** One entry of a case's business timeline (docs/api.md `GET /v1/cases/{id}/history`). */
export interface CaseEvent {
  seq: number;
  at: string;
  type: string;
  actor: Actor;
  data: Record<string, unknown>;
}

/** The deadlines a case has open right now, by kind (`ack`, `fulfilment`, `follow_up`, `survey`, ...). */
export type OpenDeadlines = Partial<Record<string, string>>;

/** The read-model row of a case, as the workflow last saw it. */
export interface CaseSnapshot {
  id: string;
  type: CaseType;
  workflowId: string;
  status: string;
  category: string | null;
  urgency: string | null;
  community: string | null;
  partnerId: string | null;
  overdue: boolean;
  reopenCount: number;
  dispatchAttempts: number;
  deadlines: OpenDeadlines;
  createdAt: string;
  acknowledgedAt: string | null;
  completedAt: string | null;
  closedAt: string | null;
  outcome: string | null;
  satisfaction: number | null;
  /** Everything else the case view shows (resident, reviews, certificate number, ...). */
  details: Record<string, unknown>;
}

/** The columns every view of a case row shares (lists, reconciliation), without its identity, deadlines and details. */
export type CaseRowFields = Omit<CaseSnapshot, 'id' | 'type' | 'workflowId' | 'deadlines' | 'details'>;

/** What the workflow hands to the read-model activity: new events (in seq order) and the state after them. */
export interface CaseEventBatch {
  events: CaseEvent[];
  snapshot: CaseSnapshot;
  /**
   * A re-send of the whole timeline after `resyncReadModel` (reconciliation): the case row
   * and its deadlines are rewritten even when the stored row already claims this last seq.
   */
  resync?: boolean;
}
