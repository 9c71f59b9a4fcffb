/** Request and response schemas of the care-plan routes (docs/care-plans.md), shared by validation and OpenAPI. */
import {
  CARE_PLAN_STATUSES, CARE_SERVICES, INSTALLATION_ITEMS, scheduleProblems, VISIT_STATUSES,
} from '../domain/carePlan';
import { Instant, IsoDuration, Pagination, ResidentSchema } from './schemas';
import { z } from './zod';

const text = (max: number) => z.string().max(max).trim().min(1);
const services = z.array(z.enum(CARE_SERVICES)).min(1, 'name at least one service').max(CARE_SERVICES.length)
  .refine((s) => new Set(s).size === s.length, 'each service once');

const scheduleFields = {
  firstVisitAt: Instant,
  every: IsoDuration.openapi({ example: 'P7D' }),
  visitLength: IsoDuration.openapi({ example: 'PT1H' }),
  lateAfter: IsoDuration.openapi({ example: 'PT30M' }),
  missedAfter: IsoDuration.openapi({ example: 'PT4H' }),
};

/** The cross-field rules (every >= visitLength, lateAfter < missedAfter), each issue naming its field. */
function checkSchedule(s: Record<string, unknown>, ctx: z.RefinementCtx, prefix: string[] = []): void {
  for (const p of scheduleProblems(s)) {
    // single-field problems (a bad duration) are already reported by the field's own schema
    if (p.message.startsWith('must be a positive') || p.message.startsWith('must be an ISO')) continue;
    ctx.addIssue({ code: 'custom', path: [...prefix, p.path], message: p.message });
  }
}

export const CareSchedule = z.object(scheduleFields).strict().superRefine((s, ctx) => checkSchedule(s, ctx)).openapi('CareSchedule');

const Installation = z.object({ item: z.enum(INSTALLATION_ITEMS), note: text(1000).optional() }).strict();

export const CreateCarePlan = z.object({
  resident: ResidentSchema,
  partnerId: z.string().min(1).max(100),
  services,
  schedule: CareSchedule,
  endsAt: Instant.optional(),
  installations: z.array(Installation).max(20).optional(),
}).strict().superRefine((v, ctx) => {
  if (Date.parse(v.schedule.firstVisitAt) <= Date.now()) ctx.addIssue({ code: 'custom', path: ['schedule', 'firstVisitAt'], message: 'must be in the future' });
  if (v.endsAt && Date.parse(v.endsAt) <= Date.parse(v.schedule.firstVisitAt)) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after schedule.firstVisitAt' });
}).openapi('CreateCarePlan');

/** PATCH: any of these, applied from the next visit on; schedule fields are merged into the current schedule. */
export const ChangeCarePlan = z.object({
  schedule: z.object(scheduleFields).partial().strict().refine((s) => Object.keys(s).length > 0, 'name at least one schedule field').optional(),
  partnerId: z.string().min(1).max(100).optional(),
  services: services.optional(),
  endsAt: Instant.nullable().optional(),
}).strict().refine((v) => Object.keys(v).length > 0, 'send at least one of: schedule, partnerId, services, endsAt').superRefine((v, ctx) => {
  if (v.schedule?.firstVisitAt && Date.parse(v.schedule.firstVisitAt) <= Date.now()) ctx.addIssue({ code: 'custom', path: ['schedule', 'firstVisitAt'], message: 'must be in the future' });
  if (v.endsAt && Date.parse(v.endsAt) <= Date.now()) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be in the future' });
}).openapi('ChangeCarePlan');

export { checkSchedule };

export const Reason = z.object({ reason: text(2000) }).strict().openapi('Reason');
export const Note = z.object({ note: text(2000) }).strict().openapi('EscalationNote');

const Location = z.union([
  z.object({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) }).strict(),
  text(500),
]).openapi({ description: 'Where the visit takes place: coordinates from the phone, or a description' });

export const CheckIn = z.object({ carer: text(200), location: Location.optional() }).strict().openapi('VisitCheckIn');
export const CheckOut = z.object({ services, note: text(4000).optional() }).strict().openapi('VisitCheckOut');

export const PlanParams = z.object({ id: z.string().min(1).max(100) }).strict();
export const VisitParams = z.object({ id: z.string().min(1).max(100), visitId: z.string().min(1).max(100) }).strict();

export const VisitView = z.object({
  visitId: z.string(), dueAt: z.string(), status: z.enum(VISIT_STATUSES), late: z.boolean(), partnerId: z.string(),
  plannedServices: z.array(z.string()), checkInAt: z.string().nullable().optional(), checkOutAt: z.string().nullable().optional(),
  carer: z.string().nullable().optional(), location: z.unknown().optional(), services: z.array(z.string()).nullable().optional(),
  hours: z.number().nullable().optional(), note: z.string().nullable().optional(), cancelReason: z.string().nullable().optional(),
}).openapi('CareVisit');

export const CarePlanView = z.object({
  id: z.string(), status: z.enum(CARE_PLAN_STATUSES), resident: ResidentSchema.partial(), partnerId: z.string(),
  services: z.array(z.string()), schedule: z.record(z.string(), z.string()), endsAt: z.string().nullable(),
  nextVisit: z.object({ visitId: z.string(), dueAt: z.string() }).nullable(),
  visits: z.object({ completed: z.number().int(), missed: z.number().int(), cancelled: z.number().int(), late: z.number().int() }),
  hoursTotal: z.number(),
  installations: z.array(z.object({ item: z.string(), note: z.string().nullable(), serviceRequestId: z.string().nullable(), status: z.string() })),
  escalation: z.unknown().nullable(),
  escalations: z.array(z.unknown()).optional().openapi({ description: 'the plan\'s escalations on the chain, resolved ones included (docs/care-plans.md, "Escalations")' }),
  pause: z.unknown().nullable(), createdAt: z.string(), endedAt: z.string().nullable().optional(),
  endReason: z.string().nullable().optional(), openVisits: z.array(VisitView),
}).openapi('CarePlan');

export const CreatedCarePlan = CarePlanView.extend({ trackingCode: z.string().optional() }).openapi('CreatedCarePlan');

export const VisitListQuery = z.object({ status: z.enum(VISIT_STATUSES).optional(), ...Pagination }).strict();
export const RosterQuery = z.object({
  from: Instant.optional().openapi({ description: 'Visits due at or after (default: 7 days ago)' }),
  to: Instant.optional().openapi({ description: 'Visits due before (default: 30 days ahead)' }),
  ...Pagination,
}).strict().refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { path: ['to'], message: 'must not be before from' });

export const CareHoursQuery = z.object({
  from: Instant.optional().openapi({ description: 'Visits due at or after (inclusive)' }),
  to: Instant.optional().openapi({ description: 'Visits due before (exclusive)' }),
  groupBy: z.enum(['partner', 'community', 'plan']).default('partner'),
  community: z.string().max(200).optional(),
}).strict().refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { path: ['to'], message: 'must not be before from' });

const CareHoursMeasures = {
  plans: z.number().int(), visitsCompleted: z.number().int(), visitsMissed: z.number().int(),
  onTimeShare: z.number().nullable(), hours: z.number(),
};
export const CareHoursReport = z.object({
  groupBy: z.string(), from: z.string().nullable(), to: z.string().nullable(),
  rows: z.array(z.object({ key: z.string(), label: z.string().nullable(), ...CareHoursMeasures })),
  overall: z.object(CareHoursMeasures),
}).openapi('CareHoursReport');
