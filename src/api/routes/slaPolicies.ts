import { getCalendar } from '../../db/calendars';
import { loadSlaPolicies, saveSlaPolicy } from '../../db/slaPolicies';
import { ALL_SLA_COUNTS, ALL_SLA_DURATIONS, CASE_TYPE_DEFS } from '../../domain/caseTypes';
import { DEFAULT_SLA_POLICIES, type SlaPolicy } from '../../domain/sla';
import { CASE_TYPES, CATEGORIES, URGENCIES } from '../../domain/vocabulary';
import type { ApiDeps } from '../deps';
import { badRequest, forbidden } from '../problem';
import type { ApiRoutes } from '../routing';
import { IsoDuration } from '../schemas';
import { CLOCK_FIELDS, clockFields } from '../slaClockSchemas';
import { z } from '../zod';

/** Every field of every case type's SLA (the registry says which type has which). */
const durations = Object.fromEntries(ALL_SLA_DURATIONS.map((k) => [k, IsoDuration.optional()]));
const counts = Object.fromEntries(ALL_SLA_COUNTS.map((k) => [k, z.number().int().min(1).max(50).optional()]));

const PutSlaPolicy = z.object({
  caseType: z.enum(CASE_TYPES),
  category: z.enum(CATEGORIES).optional(),
  urgency: z.enum(URGENCIES).optional(),
  ...durations,
  ...counts,
  ...clockFields,
}).strict().superRefine((v, ctx) => {
  const { sla } = CASE_TYPE_DEFS[v.caseType];
  const allowed: readonly string[] = [...sla.durations, ...sla.counts, ...CLOCK_FIELDS[v.caseType]];
  const set = Object.keys(v).filter((k) => !['caseType', 'category', 'urgency'].includes(k));
  for (const k of set) if (!allowed.includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: `not a ${v.caseType} duration` });
  if (set.length === 0) ctx.addIssue({ code: 'custom', path: [], message: `set at least one of: ${allowed.join(', ')}` });
  if (!sla.byCategoryAndUrgency && (v.category || v.urgency)) ctx.addIssue({ code: 'custom', path: ['category'], message: `${v.caseType} policies are not split by category or urgency` });
}).openapi('SlaPolicy');

const PolicyList = z.object({
  items: z.array(z.record(z.string(), z.unknown())),
  defaults: z.array(z.record(z.string(), z.unknown())),
}).openapi('SlaPolicyList');

export function slaPolicyRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/sla-policies', operationId: 'listSlaPolicies', tag: 'sla', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Stored SLA policies, and the shipped defaults they override',
    responses: { 200: { description: 'policies', schema: PolicyList } },
    handler: async () => ({ status: 200, body: { items: await loadSlaPolicies(pool), defaults: DEFAULT_SLA_POLICIES } }),
  });

  routes.add({
    method: 'put', path: '/v1/sla-policies', operationId: 'putSlaPolicy', tag: 'sla', roles: ['admin', 'supervisor'],
    summary: 'Set the policy for (caseType, category?, urgency?); the most specific applies when a case starts (not for keys limited to communities)',
    body: PutSlaPolicy,
    responses: { 200: { description: 'the stored policy', schema: z.record(z.string(), z.unknown()) } },
    handler: async ({ body, principal }) => {
      // Policies apply to every community's cases: not for a key limited to some.
      if (principal.communities) throw forbidden('SLA policies apply to every community: only admins and supervisors not limited to communities may change them');
      if (body.calendar && !(await getCalendar(pool, body.calendar))) {
        throw badRequest(`calendar ${body.calendar} does not exist`, [{ path: 'body.calendar', message: 'no calendar with this id: GET /v1/calendars lists them' }]);
      }
      await saveSlaPolicy(pool, body as SlaPolicy);
      return { status: 200, body };
    },
  });
}
