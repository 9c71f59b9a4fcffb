/** Working-day calendars and the due-date preview (docs/sla-clocks.md). */
import { getCalendar, listCalendars, saveCalendar, type StoredCalendar } from '../../db/calendars';
import { dueAfterWorkingTime, NoWorkingTimeError, type DueDate } from '../../domain/calendar';
import { calendarProblems, HOLIDAY_RULES, isBuiltInCalendar, snapshotCalendar } from '../../domain/calendars';
import { parseIsoDuration } from '../../domain/duration';
import { CN_HOLIDAY_NOTICES } from '../../domain/holidays';
import type { ApiDeps } from '../deps';
import { badRequest, conflict, forbidden, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { Instant } from '../schemas';
import { z } from '../zod';

export const CalendarId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _ (at most 64)');
const CalendarParam = z.object({ id: CalendarId }).strict();

const TimeOfDay = z.string().regex(/^\d{2}:\d{2}$/, 'must be HH:MM');
const LocalDate = z.iso.date();

const PutCalendar = z.object({
  name: z.string().max(200).trim().min(1),
  timezone: z.string().min(1).max(64).openapi({ example: 'Asia/Shanghai' }),
  weekdays: z.array(z.number().int().min(1).max(7)).max(7)
    .refine((w) => new Set(w).size === w.length, 'each weekday once')
    .openapi({ description: 'ISO weekdays that are working days: 1 = Monday ... 7 = Sunday' }),
  workingHours: z.array(z.object({ from: TimeOfDay, to: TimeOfDay }).strict()).max(12),
  holidays: z.enum(HOLIDAY_RULES).openapi({ description: '"cn": closed on the State Council public holidays, open on their make-up working days' }),
  closedDates: z.array(LocalDate).max(2000).optional(),
  workingDates: z.array(LocalDate).max(2000).optional(),
}).strict().superRefine((v, ctx) => {
  for (const p of calendarProblems(v)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
}).openapi('PutCalendar');

const CalendarView = z.object({
  id: z.string(), name: z.string(), timezone: z.string(), weekdays: z.array(z.number().int()),
  workingHours: z.array(z.object({ from: z.string(), to: z.string() })), holidays: z.enum(HOLIDAY_RULES),
  closedDates: z.array(z.string()), workingDates: z.array(z.string()), builtIn: z.boolean(), updatedAt: z.string().nullable(),
  holidayNotices: z.array(z.object({ year: z.number().int(), title: z.string(), number: z.string(), issuedOn: z.string() }))
    .openapi({ description: 'for holidays "cn": the notices whose years are in the data; other years count Monday to Friday (provisional)' }),
}).openapi('Calendar');

const DueQuery = z.object({
  from: Instant.optional().openapi({ description: 'where the count starts (default: now)' }),
  duration: z.string().refine((s) => parseIsoDuration(s) !== null, 'must be an ISO 8601 duration such as PT19H, P3D or PT0S'),
}).strict();

const DueView = z.object({
  calendar: z.string(), from: z.string(), duration: z.string(), dueAt: z.string(),
  provisional: z.boolean().openapi({ description: 'the count ran into a year whose holiday notice is not in the data' }),
}).openapi('CalendarDue');

function view(c: StoredCalendar) {
  return {
    id: c.id, name: c.name, timezone: c.timezone, weekdays: c.weekdays, workingHours: c.workingHours, holidays: c.holidays,
    closedDates: c.closedDates ?? [], workingDates: c.workingDates ?? [], builtIn: c.builtIn, updatedAt: c.updatedAt,
    holidayNotices: c.holidays === 'cn'
      ? CN_HOLIDAY_NOTICES.map((n) => ({ year: n.year, title: n.source.title, number: n.source.number, issuedOn: n.source.issuedOn }))
      : [],
  };
}

export function calendarRoutes(routes: ApiRoutes, { pool }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/v1/calendars', operationId: 'listCalendars', tag: 'sla', roles: ['admin', 'supervisor', 'staff'],
    summary: 'Working-day calendars: the built-ins (always, cn-office) and the defined ones',
    responses: { 200: { description: 'calendars', schema: z.object({ items: z.array(CalendarView), nextCursor: z.null() }) } },
    handler: async () => ({ status: 200, body: { items: (await listCalendars(pool)).map(view), nextCursor: null } }),
  });

  routes.add({
    method: 'get', path: '/v1/calendars/:id', operationId: 'getCalendar', tag: 'sla', roles: ['admin', 'supervisor', 'staff'],
    summary: 'One calendar',
    params: CalendarParam,
    responses: { 200: { description: 'the calendar', schema: CalendarView }, 404: { description: 'unknown calendar' } },
    handler: async ({ params }) => {
      const cal = await getCalendar(pool, params.id);
      if (!cal) throw notFound(`calendar ${params.id}`);
      return { status: 200, body: view(cal) };
    },
  });

  routes.add({
    method: 'put', path: '/v1/calendars/:id', operationId: 'putCalendar', tag: 'sla', roles: ['admin', 'supervisor'],
    summary: 'Define or replace a calendar; cases opened afterwards count on the new definition',
    params: CalendarParam,
    body: PutCalendar,
    responses: {
      200: { description: 'replaced', schema: CalendarView }, 201: { description: 'created', schema: CalendarView },
      409: { description: 'a built-in calendar cannot be changed' },
    },
    handler: async ({ params, body, principal }) => {
      // A calendar serves every community's policies: not for a key limited to some.
      if (principal.communities) throw forbidden('calendars apply to every community: only admins and supervisors not limited to communities may change them');
      if (isBuiltInCalendar(params.id)) throw conflict(`${params.id} is built in and cannot be changed; define a calendar under another id`);
      const { calendar, created } = await saveCalendar(pool, { id: params.id, ...body });
      return { status: created ? 201 : 200, body: view(calendar) };
    },
  });

  routes.add({
    method: 'get', path: '/v1/calendars/:id/due', operationId: 'previewCalendarDue', tag: 'sla', roles: ['admin', 'supervisor', 'staff'],
    summary: 'When a duration of working time counted from an instant on this calendar falls due',
    params: CalendarParam,
    query: DueQuery,
    responses: { 200: { description: 'the due instant', schema: DueView }, 404: { description: 'unknown calendar' } },
    handler: async ({ params, query }) => {
      const cal = await getCalendar(pool, params.id);
      if (!cal) throw notFound(`calendar ${params.id}`);
      const from = query.from ? Date.parse(query.from) : Date.now();
      // The same snapshot a case opened at `from` would carry, so the preview is what the case will do.
      let due: DueDate;
      try {
        due = dueAfterWorkingTime(snapshotCalendar(cal, from), from, parseIsoDuration(query.duration)!);
      } catch (err) {
        if (!(err instanceof NoWorkingTimeError)) throw err;
        throw badRequest(err.message, [{ path: 'query.duration', message: 'longer than the working time of this calendar in the next ten years' }]);
      }
      const { dueMs, provisional } = due;
      return {
        status: 200,
        body: { calendar: cal.id, from: new Date(from).toISOString(), duration: query.duration, dueAt: new Date(dueMs).toISOString(), provisional },
      };
    },
  });
}
