/** Supervisor views of docs/api.md: open deadlines across both case types, and the summary report. */
import { decodeCursor, encodeCursor } from '../../db/cursor';
import { clockReport } from '../../db/escalationReport';
import { summarize } from '../../db/reports';
import { listOpenDeadlines } from '../../db/timeouts';
import { parseIsoDuration } from '../../domain/duration';
import { DEADLINE_KINDS, REPORT_GROUPINGS } from '../../domain/supervision';
import { CASE_TYPES } from '../../domain/vocabulary';
import type { ApiDeps } from '../deps';
import type { ApiRoutes } from '../routing';
import { communityScope, invalidCursor } from '../scope';
import { Instant, Pagination, ShortIsoDuration } from '../schemas';
import { summaryToCsv } from '../summaryCsv';
import { negotiateLocale } from '../../i18n';
import { z } from '../zod';

const instant = Instant;

const TimeoutQuery = z.object({
  within: ShortIsoDuration.default('PT1H').openapi({ description: 'Window ahead of now; deadlines already past are always included' }),
  type: z.enum(CASE_TYPES).optional(),
  kind: z.enum(DEADLINE_KINDS).optional(),
  community: z.string().max(200).optional(),
  partnerId: z.string().max(100).optional(),
  ...Pagination,
}).strict();

const OpenDeadline = z.object({
  caseId: z.string(), caseType: z.enum(CASE_TYPES), kind: z.string(), dueAt: z.string(), breached: z.boolean(),
  status: z.string(), community: z.string().nullable(), partnerId: z.string().nullable(),
}).openapi('OpenDeadline');

const SummaryQuery = z.object({
  from: instant.optional().openapi({ description: 'Cases created at or after (inclusive)' }),
  to: instant.optional().openapi({ description: 'Cases created before (exclusive)' }),
  groupBy: z.enum(REPORT_GROUPINGS).default('community'),
  type: z.enum(CASE_TYPES).optional(),
  community: z.string().max(200).optional(),
}).strict().refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { path: ['to'], message: 'must not be before from' });

const Durations = z.object({ cases: z.number().int(), median: z.number().nullable(), p90: z.number().nullable() })
  .openapi('DurationStats', { description: 'Seconds from intake, over the cases that reached the milestone' });
const Measures = {
  total: z.number().int(),
  byStatus: z.record(z.string(), z.number().int()),
  timeToAcknowledge: Durations,
  timeToComplete: Durations,
  timeToClose: Durations,
  insideSlaShare: z.number().nullable(),
  reopenRate: z.number().nullable(),
  satisfaction: z.object({ mean: z.number().nullable(), answered: z.number().int(), due: z.number().int(), responseRate: z.number().nullable() }),
  serviceHours: z.number(),
  registration: z.object({ certified: z.number().int(), sameDayShare: z.number().nullable(), medianTimeToCertificate: z.number().nullable() }),
};
const EscalationFigures = z.object({
  total: z.number().int(), byLevel: z.record(z.string(), z.number().int()), byStatus: z.record(z.string(), z.number().int()),
  timeToAcknowledge: z.object({ cases: z.number().int(), median: z.number().nullable(), p90: z.number().nullable() }),
}).openapi({ description: 'escalations of the cases in the window (or the group), by the level reached and status; seconds to acknowledge (docs/sla-clocks.md)' });
const HoldFigures = z.object({ cases: z.number().int(), holds: z.number().int(), workingSeconds: z.number() })
  .openapi({ description: 'cases put on hold, holds, and the working time they stopped the fulfilment clock for' });
const SummaryReport = z.object({
  groupBy: z.enum(REPORT_GROUPINGS), from: z.string().nullable(), to: z.string().nullable(),
  groups: z.array(z.object({ key: z.string().nullable(), label: z.string().nullable(), ...Measures, escalations: EscalationFigures, holds: HoldFigures })),
  overall: z.object(Measures),
  escalations: EscalationFigures,
  holds: HoldFigures,
}).openapi('SummaryReport');

export function supervisionRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/timeouts', operationId: 'listTimeouts', tag: 'supervision', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Open deadlines of open cases due within the window or already breached, soonest first',
    query: TimeoutQuery,
    responses: { 200: { description: 'a page of open deadlines', schema: z.object({ items: z.array(OpenDeadline), nextCursor: z.string().nullable() }) } },
    handler: async ({ query, principal }) => {
      const scope = communityScope(principal, query.community);
      const after = decodeCursor(query.cursor, { dueAt: 'instant', caseId: 'text', kind: 'text' });
      if (after === 'invalid' || (after && Number.isNaN(Date.parse(after.dueAt)))) throw invalidCursor();
      const { items, cursor } = await listOpenDeadlines(pool, {
        ...query, withinMs: parseIsoDuration(query.within)!, scope, after,
      });
      return { status: 200, body: { items, nextCursor: cursor ? encodeCursor(cursor) : null } };
    },
  });

  routes.add({
    method: 'get', path: '/v1/reports/summary', operationId: 'getSummaryReport', tag: 'supervision', roles: ['admin', 'supervisor'],
    summary: 'Measures per partner, category or community over cases created in [from, to); `Accept: text/csv` for CSV',
    query: SummaryQuery,
    responses: { 200: { description: 'the report (JSON, or CSV when asked for)', schema: SummaryReport } },
    handler: async ({ query, principal, req }) => {
      const scope = communityScope(principal, query.community);
      const [summary, clocks] = await Promise.all([summarize(pool, { ...query, scope }), clockReport(pool, { ...query, scope })]);
      const { escalations, holds } = clocks;
      // Each group's escalation and hold figures beside its other measures; the whole window's at the top.
      const report = { ...summary, groups: summary.groups.map((g) => ({ ...g, ...clocks.group(g.key) })), escalations, holds };
      if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
        const locale = negotiateLocale(req.header('accept-language'), 'en');
        return { status: 200, body: summaryToCsv(report, locale), contentType: 'text/csv; charset=utf-8', headers: { Vary: 'Accept, Accept-Language', 'Content-Language': locale } as Record<string, string> };
      }
      return { status: 200, body: report, headers: { Vary: 'Accept' } };
    },
  });
}
