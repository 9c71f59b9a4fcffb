/**
 * The case-type registry: what differs between case types, in one table. Everything that
 * must know every type (supervisor filters, terminal statuses, the SLA-policy route,
 * workflow ids, starting a workflow) reads it, so a type added to `CASE_TYPES` without an
 * entry here does not compile. docs/case-kernel.md explains how to add a type.
 * Pure: safe to import from workflow code.
 */
import {
  BUSINESS_TYPES, REGISTRATION_STATUSES, type RegistrationState, type RegistrationStatus, type RegistrationWorkflowInput,
} from './registration';
import {
  SERVICE_REQUEST_STATUSES, type ServiceRequestState, type ServiceRequestStatus, type ServiceRequestWorkflowInput,
} from './serviceRequest';
import { CARE_PLAN_STATUSES, type CarePlanState, type CarePlanStatus, type CarePlanWorkflowInput } from './carePlan';
import { type CaseType, CATEGORIES } from './vocabulary';

/** What the registry holds for one case type (the shape every entry satisfies). */
export interface CaseTypeDef {
  /** The Temporal workflow type (the exported workflow function's name). */
  workflowType: string;
  /** Workflow ids are business keys: `<prefix>:<case id>`. */
  workflowIdPrefix: string;
  statuses: readonly string[];
  /** A case in one of these is over: no deadline is anyone's to meet, the workflow ends. */
  terminal: readonly string[];
  /** Status -> the actions (API verbs, workflow updates) allowed in it; validators read this. */
  actions: Readonly<Record<string, readonly string[]>>;
  /** What the read model's `category` column holds for this type. */
  categories: readonly string[];
  /** Deadline kinds the workflow writes to `case_deadlines` (the snapshot's `deadlines` keys). */
  deadlineKinds: readonly string[];
  sla: {
    /** ISO 8601 duration fields of an SLA policy of this type. */
    durations: readonly string[];
    /** Whole-number fields (e.g. `maxDispatchAttempts`). */
    counts: readonly string[];
    /** Whether policies may be narrowed by category and urgency. */
    byCategoryAndUrgency: boolean;
  };
}

/**
 * One entry, typed by its own statuses and actions: every status must have its row in the
 * action table and every terminal status must be a status, or the entry does not compile.
 */
function defineCaseType<S extends string, A extends string>(def: Omit<CaseTypeDef, 'statuses' | 'terminal' | 'actions'> & {
  statuses: readonly S[];
  terminal: readonly S[];
  actions: Readonly<Record<S, readonly A[]>>;
}) {
  return def;
}

/** Every open state of a resident request may be cancelled. */
const SR_CANCEL = 'cancel';

export const CASE_TYPE_DEFS = {
  service_request: defineCaseType<ServiceRequestStatus,
    'accept' | 'decline' | 'progress' | 'complete' | 'extension' | 'extension_decision' | 'assign' | 'follow_up' | 'survey' | 'cancel' | 'hold'>({
    workflowType: 'serviceRequest',
    workflowIdPrefix: 'service-request',
    statuses: SERVICE_REQUEST_STATUSES,
    terminal: ['closed', 'cancelled'],
    actions: {
      dispatching: ['assign', SR_CANCEL],
      awaiting_ack: ['accept', 'decline', 'assign', SR_CANCEL],
      // accept again is a harmless repeat (a partner retrying its call)
      in_progress: ['accept', 'progress', 'complete', 'extension', 'extension_decision', 'assign', 'hold', SR_CANCEL],
      escalated: ['assign', SR_CANCEL],
      awaiting_follow_up: ['follow_up', SR_CANCEL],
      awaiting_survey: ['survey', SR_CANCEL],
      closed: [],
      cancelled: [],
    },
    categories: CATEGORIES,
    deadlineKinds: ['ack', 'fulfilment', 'follow_up', 'survey', 'hold', 'escalation'],
    sla: {
      durations: ['ackTimeout', 'reminderAfter', 'fulfilmentTimeout', 'followUpAfter', 'surveyWindow'],
      counts: ['maxDispatchAttempts'],
      byCategoryAndUrgency: true,
    },
  }),
  registration: defineCaseType<RegistrationStatus, 'supplement' | 'review' | 'assign_reviewer' | 'deliver' | 'survey' | 'cancel'>({
    workflowType: 'registration',
    workflowIdPrefix: 'registration',
    statuses: REGISTRATION_STATUSES,
    terminal: ['rejected', 'closed', 'withdrawn'],
    actions: {
      awaiting_documents: ['supplement', 'cancel'],
      // a supervisor may send a pending review to another partner of its department
      in_review: ['review', 'assign_reviewer', 'cancel'],
      // once every department has approved, the certificate is being made: no cancelling
      issuing: [],
      awaiting_delivery: ['deliver'],
      awaiting_survey: ['survey'],
      rejected: [],
      closed: [],
      withdrawn: [],
    },
    categories: BUSINESS_TYPES,
    deadlineKinds: ['supplement', 'review', 'survey', 'escalation'],
    sla: {
      durations: ['supplementWindow', 'reviewTimeout', 'completionTarget', 'surveyWindow'],
      counts: [],
      byCategoryAndUrgency: false,
    },
  }),
  care_plan: defineCaseType<CarePlanStatus, 'check_in' | 'check_out' | 'cancel_visit' | 'change' | 'pause' | 'resume' | 'end' | 'acknowledge'>({
    workflowType: 'carePlan',
    workflowIdPrefix: 'care-plan',
    statuses: CARE_PLAN_STATUSES,
    // `cancelled`: ended before any visit happened or was missed
    terminal: ['ended', 'cancelled'],
    actions: {
      active: ['check_in', 'check_out', 'cancel_visit', 'change', 'pause', 'end', 'acknowledge'],
      // a visit in progress when the plan was paused can still be checked out
      paused: ['check_out', 'change', 'resume', 'end', 'acknowledge'],
      ended: [],
      cancelled: [],
    },
    // a plan has services (several), not one category
    categories: [],
    // check_in: the soonest scheduled visit is missed then; escalation: a missed visit nobody has taken on yet
    deadlineKinds: ['check_in', 'escalation'],
    // a plan carries its own schedule; its policy has only the clock fields (calendar, escalationSteps: src/api/slaClockSchemas.ts)
    sla: { durations: [], counts: [], byCategoryAndUrgency: false },
  }),
} satisfies Record<CaseType, CaseTypeDef>;

export type CaseTypeDefs = typeof CASE_TYPE_DEFS;
type StatusesOf<D> = D extends { statuses: readonly (infer S)[] } ? S : never;
type ActionsOf<D> = D extends { actions: Readonly<Record<string, readonly (infer A)[]>> } ? A : never;
/** The statuses of a case type. */
export type StatusOf<T extends CaseType> = StatusesOf<CaseTypeDefs[T]> & string;
/** The actions of a case type (the action table's vocabulary). */
export type ActionOf<T extends CaseType> = ActionsOf<CaseTypeDefs[T]> & string;

const defs: Record<CaseType, CaseTypeDef> = CASE_TYPE_DEFS;
const all = Object.values(defs);

/** Whether `action` is allowed for a case of `type` in `status`. */
export function allows<T extends CaseType>(type: T, status: StatusOf<T>, action: ActionOf<T>): boolean {
  return (defs[type].actions[status] ?? []).includes(action);
}

/** The statuses of `type` in which `action` is allowed (for error messages and docs). */
export function statusesAllowing<T extends CaseType>(type: T, action: ActionOf<T>): StatusOf<T>[] {
  return Object.entries(defs[type].actions).filter(([, actions]) => actions.includes(action)).map(([s]) => s as StatusOf<T>);
}

export const isTerminal = (type: CaseType, status: string): boolean => defs[type].terminal.includes(status);

/** `service-request:<id>`, `registration:<id>`, ... */
export const caseWorkflowId = (type: CaseType, caseId: string): string => `${defs[type].workflowIdPrefix}:${caseId}`;

const union = (pick: (d: CaseTypeDef) => readonly string[]) => [...new Set(all.flatMap(pick))] as [string, ...string[]];

/** Every status a case of any type can be in. */
export const ALL_CASE_STATUSES = union((d) => d.statuses);
export const ALL_TERMINAL_STATUSES = union((d) => d.terminal);
export const ALL_CASE_CATEGORIES = union((d) => d.categories);
export const ALL_DEADLINE_KINDS = union((d) => d.deadlineKinds);
export const ALL_SLA_DURATIONS = union((d) => d.sla.durations);
export const ALL_SLA_COUNTS = union((d) => d.sla.counts);

/** Each case type's workflow input and state, by type (what `startCaseWorkflow` and the tests start a case with). */
export interface CaseWorkflowInputs {
  service_request: ServiceRequestWorkflowInput;
  registration: RegistrationWorkflowInput;
  care_plan: CarePlanWorkflowInput;
}
export interface CaseStates {
  service_request: ServiceRequestState;
  registration: RegistrationState;
  care_plan: CarePlanState;
}
export type CaseWorkflow<T extends CaseType> = (input: CaseWorkflowInputs[T]) => Promise<CaseStates[T]>;
