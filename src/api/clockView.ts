/** What a case view shows of the working-day clocks and the escalation chain (docs/sla-clocks.md). */
import { currentEscalation, type EscalationRecord } from '../domain/escalation';
import { HOLD_REASONS } from '../domain/serviceRequest';
import { z } from './zod';

export const EscalationNow = z.object({
  level: z.number().int(), reason: z.string(), since: z.string(),
  acknowledgedBy: z.string().optional(), acknowledgedAt: z.string().optional(),
}).nullable().openapi('CaseEscalation', { description: 'the escalation not yet resolved at the highest level, or null' });

export const clockViewFields = {
  escalation: EscalationNow,
  provisionalDeadlines: z.array(z.string()).openapi({ description: 'deadline kinds counted into a year whose State Council holiday notice is not yet in the data' }),
};

export const holdViewFields = {
  onHold: z.object({ since: z.string(), reason: z.enum(HOLD_REASONS), note: z.string().nullable(), by: z.string() }).nullable(),
  held: z.object({ count: z.number().int(), workingMs: z.number().int() })
    .openapi({ description: 'holds so far and the working time they stopped the fulfilment clock for' }),
};

export function clockView(s: { escalations?: EscalationRecord[]; provisionalDeadlines?: string[] }) {
  return { escalation: currentEscalation(s.escalations ?? []), provisionalDeadlines: s.provisionalDeadlines ?? [] };
}

export function holdView(s: { onHold?: { since: string; reason: (typeof HOLD_REASONS)[number]; note: string | null; by: string } | null; held?: { count: number; workingMs: number } }) {
  return { onHold: s.onHold ?? null, held: s.held ?? { count: 0, workingMs: 0 } };
}

export const Hold = z.object({
  reason: z.enum(HOLD_REASONS),
  note: z.string().max(2000).trim().min(1).optional(),
}).strict().openapi('HoldOrder');

export const AcknowledgeEscalationBody = z.object({ note: z.string().max(2000).trim().min(1) }).strict().openapi('AcknowledgeEscalation');
