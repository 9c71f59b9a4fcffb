import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes every case workflow carries, so operators can filter
 * cases in the Temporal Web UI (and `temporal workflow list --query ...`).
 * The dev server registers them at start; production clusters need
 * `temporal operator search-attribute create` for each (see README).
 */
export const CASE_SEARCH_ATTRIBUTES = {
  CaseType: 'Keyword',
  CaseStatus: 'Keyword',
  Category: 'Keyword',
  PartnerId: 'Keyword',
  Community: 'Keyword',
  Overdue: 'Bool',
} as const;

export type CaseSearchAttributeName = keyof typeof CASE_SEARCH_ATTRIBUTES;

/** Typed keys, for workflow upserts and client start options. */
export const SA = {
  caseType: defineSearchAttributeKey('CaseType', SearchAttributeType.KEYWORD),
  caseStatus: defineSearchAttributeKey('CaseStatus', SearchAttributeType.KEYWORD),
  category: defineSearchAttributeKey('Category', SearchAttributeType.KEYWORD),
  partnerId: defineSearchAttributeKey('PartnerId', SearchAttributeType.KEYWORD),
  community: defineSearchAttributeKey('Community', SearchAttributeType.KEYWORD),
  overdue: defineSearchAttributeKey('Overdue', SearchAttributeType.BOOL),
};
