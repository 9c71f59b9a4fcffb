/** The SLA-policy fields of the working-day clocks and the escalation chain (docs/sla-clocks.md). */
import { parseIsoDuration } from '../domain/duration';
import { escalationStepProblems } from '../domain/escalation';
import type { CaseType } from '../domain/vocabulary';
import { CalendarId } from './routes/calendars';
import { IsoDuration } from './schemas';
import { z } from './zod';

/** `PT0S` allowed: the first step of the chain usually starts at once. */
const NonNegativeDuration = z.string()
  .refine((s) => parseIsoDuration(s) !== null, 'must be an ISO 8601 duration such as PT0S, PT4H or P1D')
  .openapi({ example: 'PT4H' });

export const EscalationSteps = z.array(z.object({
  level: z.number().int().min(1, 'levels are 1 (grid), 2 (community) and 3 (street office)').max(3, 'levels are 1 (grid), 2 (community) and 3 (street office)'),
  after: NonNegativeDuration,
}).strict()).min(1).max(3).superRefine((steps, ctx) => {
  for (const p of escalationStepProblems(steps)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
}).openapi({ description: 'level 1 grid, 2 community, 3 street office; `after` counts from the escalation\'s start on the policy\'s calendar' });

export const clockFields = {
  calendar: CalendarId.optional().openapi({ description: 'every duration of the policy is working time on this calendar (default always)' }),
  escalationSteps: EscalationSteps.optional(),
  maxHold: IsoDuration.optional().openapi({ description: 'a hold longer than this raises an escalation (default P7D)' }),
};

/** Which clock fields a policy of each case type takes (holds are a resident-request matter). */
export const CLOCK_FIELDS = {
  service_request: ['calendar', 'escalationSteps', 'maxHold'],
  registration: ['calendar', 'escalationSteps'],
  // A plan's visit timings are its own schedule; its missed visits' escalations climb on the policy's calendar and steps.
  care_plan: ['calendar', 'escalationSteps'],
} as const satisfies Record<CaseType, readonly (keyof typeof clockFields)[]>;
