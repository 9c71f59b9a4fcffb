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
  /** With the case's first event: its tracking code from the intake (workflow memo), stored unless it has one. */
  trackingCode?: string;
}

/**
 * What the case kernel carries into the next run when a long-lived case continues as new:
 * the numbering of its timeline and of its webhook deliveries, so a continued run never
 * re-uses a seq (the read model would drop the event) or a delivery id (the partner would).
 */
export interface KernelCarryOver {
  /** The last event recorded (and written) before the switch: seq numbering continues after it. */
  lastEvent: CaseEvent | null;
  /** Webhook deliveries started so far (delivery ids are `<workflow id>:<step>`). */
  deliveryStep: number;
  /** Runs so far, this one included (1 for a case that never continued). */
  run: number;
}

/** The part every case workflow's input shares: how long-lived cases continue as new. */
export interface CaseRunInput<S, M> {
  /**
   * Continue as new once this run's history has this many events (besides whenever the
   * server suggests it). Unset in production: the server's suggestion (history count and
   * size, updates) decides. Tests set it small to force the switch.
   */
  continueAsNewAfterEvents?: number;
  /** Set in a continued run: the state and memory of the case at the switch. */
  resume?: { state: S; memory: M; kernel: KernelCarryOver };
}

/** Failure type of a read-model batch Postgres will never take (a data error): the workflow logs it and goes on. */
export const READ_MODEL_DATA_ERROR = 'ReadModelDataError';
