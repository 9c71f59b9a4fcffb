/**
 * The vocabulary of the supervisor views (docs/api.md "Supervisor views", docs/supervision.md):
 * which statuses end a case, the deadline kinds the read model lists, report groupings.
 * Pure: no I/O.
 */
import { ALL_CASE_CATEGORIES, ALL_CASE_STATUSES, ALL_DEADLINE_KINDS, ALL_TERMINAL_STATUSES } from './caseTypes';

/** Every status a case of any type can be in (from the case-type registry). */
export const CASE_STATUSES = ALL_CASE_STATUSES;

/** `category` holds the service area of a request, the business type of a registration, ... */
export const CASE_CATEGORIES = ALL_CASE_CATEGORIES;

/** A case in one of these is over: its deadlines are no longer anyone's to meet. */
export const TERMINAL_CASE_STATUSES: readonly string[] = ALL_TERMINAL_STATUSES;

/** Deadline kinds the workflows write to `case_deadlines` (snapshot `deadlines` keys). */
export const DEADLINE_KINDS = ALL_DEADLINE_KINDS;
export type DeadlineKind = string;

export const REPORT_GROUPINGS = ['partner', 'category', 'community'] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];
