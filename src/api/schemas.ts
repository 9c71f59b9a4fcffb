/** Request and response schemas of docs/api.md, shared by validation and the OpenAPI document. */
import { DURATION_LIMITS, MAX_DURATION_TEXT, parseIsoDuration } from '../domain/duration';
import { SERVICE_REQUEST_OUTCOMES, SERVICE_REQUEST_STATUSES } from '../domain/serviceRequest';
import {
  CASE_TYPES, CATEGORIES, CHANNELS, DEPARTMENTS, INSTITUTIONS, PARTNER_KINDS, RESIDENT_FLAGS, ROLES, URGENCIES,
} from '../domain/vocabulary';
import { clockViewFields, holdViewFields } from './clockView';
import { z } from './zod';

// The length limit holds for the text as sent (as the OpenAPI maxLength says); blank after trimming is empty.
const text = (max: number) => z.string().max(max).trim().min(1);
const id = z.string().min(1).max(100);

/** A positive ISO 8601 duration of at most `limit` (a deadline computed from it must stay a real date). */
export const isoDurationUpTo = (limit: { ms: number; text: string }) => z.string()
  .max(MAX_DURATION_TEXT)
  .refine((s) => (parseIsoDuration(s) ?? 0) > 0, 'must be a positive ISO 8601 duration such as PT2H, P7D or PT5S')
  .refine((s) => (parseIsoDuration(s) ?? 0) <= limit.ms, `must be at most ${limit.text}`)
  .openapi({ example: 'PT2H', description: `ISO 8601 duration, at most ${limit.text}` });

/** SLA policy fields. */
export const IsoDuration = isoDurationUpTo(DURATION_LIMITS.slaField);
/** Extensions and look-ahead windows. */
export const ShortIsoDuration = isoDurationUpTo(DURATION_LIMITS.extension);

/**
 * An instant with its offset (ISO 8601 / RFC 3339), normalised to UTC: Postgres refuses offsets
 * beyond ±15:59 and years outside 1-9999 that the format itself allows (a 500 otherwise).
 */
const INSTANT_RANGE = [Date.parse('0001-01-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')] as const;
export const Instant = z.iso.datetime({ offset: true })
  .refine((s) => Date.parse(s) >= INSTANT_RANGE[0] && Date.parse(s) <= INSTANT_RANGE[1], 'must be between the years 1 and 9999 in UTC')
  .transform((s) => new Date(s).toISOString());

export const IdParam = z.object({ id }).strict();

export const Pagination = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(500).optional(),
};

const listOf = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

// ---- API keys ----

export const CreateApiKey = z.object({
  role: z.enum(ROLES),
  name: text(200),
  partnerId: id.optional(),
  // An empty list once meant "every community": the opposite of what it says. No scope is written by leaving it out.
  communities: z.array(text(200)).min(1, 'name at least one community; leave the field out for no scope').max(200).optional(),
  expiresAt: Instant.optional(),
  /** The level of the escalation chain the key works at (1 grid, 2 community, 3 street office); staff and supervisor keys only. */
  escalationLevel: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
}).strict().superRefine((v, ctx) => {
  if (v.escalationLevel !== undefined && v.role !== 'staff' && v.role !== 'supervisor') ctx.addIssue({ code: 'custom', path: ['escalationLevel'], message: 'only staff and supervisor keys carry an escalation level' });
  if (v.role === 'partner' && !v.partnerId) ctx.addIssue({ code: 'custom', path: ['partnerId'], message: 'a partner key needs the partnerId it acts for' });
  if (v.role !== 'partner' && v.partnerId) ctx.addIssue({ code: 'custom', path: ['partnerId'], message: 'only partner keys carry a partnerId' });
  if (v.communities && !['staff', 'supervisor'].includes(v.role)) ctx.addIssue({ code: 'custom', path: ['communities'], message: 'only staff and supervisor keys are limited to communities' });
  if (v.expiresAt && Date.parse(v.expiresAt) <= Date.now()) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be in the future' });
}).openapi('CreateApiKey');

export const ApiKeyView = z.object({
  id: z.string(), name: z.string(), role: z.enum(ROLES), partnerId: z.string().nullable(),
  communities: z.array(z.string()).nullable(), escalationLevel: z.number().int().nullable(), createdAt: z.string(), expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(), lastUsedAt: z.string().nullable(),
}).openapi('ApiKey');
export const CreatedApiKey = z.object({ id: z.string(), key: z.string() }).openapi('CreatedApiKey');
export const ApiKeyList = listOf(ApiKeyView, 'ApiKeyList');

// ---- partners ----

const webhookUrl = z.string().max(2000).refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

const partnerFields = {
  name: text(200),
  kind: z.enum(PARTNER_KINDS),
  categories: z.array(z.enum(CATEGORIES)).max(CATEGORIES.length),
  communities: z.array(text(200)).max(500),
  grids: z.array(text(200)).max(2000).optional(),
  capacity: z.number().int().min(0).max(100000),
  webhookUrl: webhookUrl.optional().openapi({ description: 'Where order events are POSTed; leave out (with webhookSecret) for a partner without a system of its own' }),
  // Printable ASCII: Standard Webhooks receivers key HMAC-SHA256 with the secret's bytes (format "raw").
  webhookSecret: z.string().min(16, 'must be at least 16 characters').max(500).regex(/^[\x20-\x7e]+$/, 'must be printable ASCII').optional(),
  active: z.boolean().optional(),
  department: z.enum(DEPARTMENTS).optional(),
  institution: z.enum(INSTITUTIONS).optional(),
  hours: text(200).optional().openapi({ description: 'Service hours as the partner declares them, e.g. "24h" or "Mon-Fri 8:00-17:00"' }),
};

function checkPartnerKind(v: { kind?: string; categories?: string[]; communities?: string[]; department?: string; institution?: string }, ctx: z.RefinementCtx) {
  if (v.kind === 'department' && !v.department) ctx.addIssue({ code: 'custom', path: ['department'], message: 'a department partner names its department: tax, housing or natural_resources' });
  if (v.kind === 'linked_institution' && !v.institution) ctx.addIssue({ code: 'custom', path: ['institution'], message: 'a linked institution names its kind: bank, provident_fund, notary or court' });
  if (v.department && v.kind !== 'department') ctx.addIssue({ code: 'custom', path: ['department'], message: 'only department partners carry a department' });
  if (v.institution && v.kind !== 'linked_institution') ctx.addIssue({ code: 'custom', path: ['institution'], message: 'only linked institutions carry an institution' });
  const servesResidents = v.kind !== undefined && v.kind !== 'department' && v.kind !== 'linked_institution';
  if (servesResidents && v.categories?.length === 0) ctx.addIssue({ code: 'custom', path: ['categories'], message: 'name at least one service category' });
  if (servesResidents && v.communities?.length === 0) ctx.addIssue({ code: 'custom', path: ['communities'], message: 'name at least one community served' });
}

/** A webhook needs its secret, and a secret without a webhook signs nothing. */
function checkWebhookPair(v: { webhookUrl?: string; webhookSecret?: string }, ctx: z.RefinementCtx) {
  if (v.webhookUrl && !v.webhookSecret) ctx.addIssue({ code: 'custom', path: ['webhookSecret'], message: 'a partner with a webhookUrl needs a webhookSecret' });
  if (v.webhookSecret && !v.webhookUrl) ctx.addIssue({ code: 'custom', path: ['webhookUrl'], message: 'a webhookSecret needs a webhookUrl to sign for' });
}

export const CreatePartner = z.object(partnerFields).strict().superRefine(checkPartnerKind).superRefine(checkWebhookPair).openapi('CreatePartner');
export const UpdatePartner = z.object(partnerFields).partial().strict()
  .refine((v) => Object.keys(v).length > 0, 'send at least one field to change')
  .openapi('UpdatePartner');

export const PartnerView = z.object({
  id: z.string(), name: z.string(), kind: z.enum(PARTNER_KINDS), categories: z.array(z.string()),
  communities: z.array(z.string()), grids: z.array(z.string()), capacity: z.number().int(), webhookUrl: z.string().nullable(),
  active: z.boolean(), department: z.string().nullable(), institution: z.string().nullable(), hours: z.string().nullable(),
  createdAt: z.string(), updatedAt: z.string(),
}).openapi('Partner');
export const PartnerList = listOf(PartnerView, 'PartnerList');

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

export const PartnerQuery = z.object({
  kind: z.enum(PARTNER_KINDS).optional(),
  category: z.enum(CATEGORIES).optional(),
  community: z.string().max(200).optional(),
  active: booleanQuery.optional(),
  ...Pagination,
}).strict();

// ---- service requests ----

export const ResidentSchema = z.object({
  name: text(100),
  // Starts and ends with a digit, so it is stored exactly as sent (no trimming that could leave it too short).
  phone: z.string().regex(/^\+?[0-9][0-9 -]{3,18}[0-9]$/, 'must be a phone number (digits, spaces, dashes, optional +)'),
  community: text(200),
  compound: text(200).optional(),
  grid: text(100).optional(),
  address: text(500).optional(),
  flags: z.array(z.enum(RESIDENT_FLAGS)).max(RESIDENT_FLAGS.length).optional(),
}).strict().openapi('Resident');

export const CreateServiceRequest = z.object({
  resident: ResidentSchema,
  category: z.enum(CATEGORIES),
  description: text(4000),
  urgency: z.enum(URGENCIES),
  channel: z.enum(CHANNELS),
}).strict().openapi('CreateServiceRequest');

export const ServiceRequestView = z.object({
  id: z.string(),
  /** The current order's link (/p/{token}) for staff to forward; null without an open order; absent for partners. */
  orderLink: z.string().nullable().optional(),
  orderLinkExpiresAt: z.string().nullable().optional(),
  status: z.enum(SERVICE_REQUEST_STATUSES),
  category: z.enum(CATEGORIES),
  urgency: z.enum(URGENCIES),
  channel: z.enum(CHANNELS),
  description: z.string().optional().openapi({ description: 'absent for a partner whose order has ended' }),
  assignedPartnerId: z.string().nullable(),
  currentOrderId: z.string().nullable(),
  dispatchAttempts: z.number().int(),
  overdue: z.boolean(),
  reopenCount: z.number().int(),
  deadlines: z.record(z.string(), z.string()),
  resident: ResidentSchema.partial(),
  extension: z.unknown().nullable(),
  completion: z.unknown().nullable(),
  survey: z.unknown().nullable(),
  sla: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  closedAt: z.string().nullable().optional(),
  outcome: z.enum(SERVICE_REQUEST_OUTCOMES).nullable().optional(),
  ...clockViewFields,
  ...holdViewFields,
}).openapi('ServiceRequest');

export const Decline = z.object({ reason: text(2000) }).strict().openapi('DeclineOrder');
export const Progress = z.object({ note: text(4000) }).strict().openapi('ProgressNote');
export const Complete = z.object({ note: text(4000), hoursSpent: z.number().min(0).max(10000).optional() }).strict().openapi('CompleteOrder');
export const Extension = z.object({ extraTime: ShortIsoDuration, reason: text(2000) }).strict().openapi('ExtensionRequest');
export const Assign = z.object({ partnerId: id }).strict().openapi('AssignPartner');
export const ExtensionDecision = z.object({ approve: z.boolean() }).strict().openapi('ExtensionDecision');
export const FollowUp = z.object({ resolved: z.boolean(), note: text(4000) }).strict().openapi('FollowUp');
export const Survey = z.object({ score: z.number().int().min(1).max(5), comment: z.string().trim().max(4000).optional() }).strict().openapi('Survey');
export const Cancel = z.object({ reason: text(2000) }).strict().openapi('Cancel');
export const EmptyBody = z.object({}).strict();

// ---- timeline ----

export const CaseEventView = z.object({
  seq: z.number().int(), at: z.string(), type: z.string(), actor: z.string(), data: z.record(z.string(), z.unknown()),
}).openapi('CaseEvent');
export const CaseHistory = z.array(CaseEventView).openapi('CaseHistory');

export const CaseTypeEnum = z.enum(CASE_TYPES);
