/**
 * The vocabulary of the supervisor views (docs/api.md "Supervisor views", docs/supervision.md):
 * which statuses end a case, the deadline kinds the read model lists, report groupings.
 * Pure: no I/O.
 */
import { BUSINESS_TYPES, REGISTRATION_STATUSES, TERMINAL_REGISTRATION_STATUSES } from './registration';
import { SERVICE_REQUEST_STATUSES } from './serviceRequest';
import { CATEGORIES } from './vocabulary';

/** Every status a case of either type can be in. */
export const CASE_STATUSES = [...new Set([...SERVICE_REQUEST_STATUSES, ...REGISTRATION_STATUSES])] as [string, ...string[]];

/** `category` holds the service area of a request and the business type of a registration. */
export const CASE_CATEGORIES = [...CATEGORIES, ...BUSINESS_TYPES] as [string, ...string[]];

/** A case in one of these is over: its deadlines are no longer anyone's to meet. */
export const TERMINAL_CASE_STATUSES: readonly string[] = [...new Set(['closed', 'cancelled', ...TERMINAL_REGISTRATION_STATUSES])];

/** Deadline kinds the workflows write to `case_deadlines` (snapshot `deadlines` keys). */
export const DEADLINE_KINDS = ['ack', 'fulfilment', 'follow_up', 'survey', 'supplement', 'review'] as const;
export type DeadlineKind = (typeof DEADLINE_KINDS)[number];

export const REPORT_GROUPINGS = ['partner', 'category', 'community'] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];
