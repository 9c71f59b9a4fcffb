/** The closed vocabularies of docs/domain.md / docs/api.md, shared by API validation, workflows and the read model. */

/** 九大服务领域: the nine service areas of the supply list (服务供给清单). */
export const CATEGORIES = [
  'clothing', 'food', 'housing', 'transport', 'daily_goods',
  'medical', 'culture', 'employment', 'hardship',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const URGENCIES = ['normal', 'urgent'] as const;
export type Urgency = (typeof URGENCIES)[number];

export const CHANNELS = ['home_visit', 'phone', 'walk_in', 'online'] as const;
export type Channel = (typeof CHANNELS)[number];

export const RESIDENT_FLAGS = ['elderly_alone', 'disabled', 'mobility_limited', 'low_income'] as const;
export type ResidentFlag = (typeof RESIDENT_FLAGS)[number];

export const PARTNER_KINDS = [
  'co_building_unit', 'social_org', 'volunteer_team', 'enterprise',
  'property_company', 'department', 'linked_institution',
] as const;
export type PartnerKind = (typeof PARTNER_KINDS)[number];

export const DEPARTMENTS = ['tax', 'housing', 'natural_resources'] as const;
export type Department = (typeof DEPARTMENTS)[number];

export const INSTITUTIONS = ['bank', 'provident_fund', 'notary', 'court'] as const;
export type Institution = (typeof INSTITUTIONS)[number];

export const ROLES = ['admin', 'supervisor', 'staff', 'partner'] as const;
export type Role = (typeof ROLES)[number];

export const CASE_TYPES = ['service_request', 'registration', 'care_plan'] as const;
export type CaseType = (typeof CASE_TYPES)[number];
