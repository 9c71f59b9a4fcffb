/**
 * Working-day calendars, the due-date preview, the clock fields of SLA policies and the
 * escalation contacts, through the real API on the run's Postgres.
 */
import { randomUUID } from 'node:crypto';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let supervisor: string;
const calendarIds: string[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff');
  supervisor = await sys.createKey('supervisor');
});
afterAll(async () => {
  // Policies are global: leave none behind for other suites' cases.
  await sys?.pool.query(`DELETE FROM sla_policies WHERE category = 'hardship'`).catch(() => undefined);
  await sys?.pool.query('DELETE FROM calendars WHERE id = ANY ($1)', [calendarIds]).catch(() => undefined);
  await sys?.stop();
});

const newCalendarId = () => { const id = `test-${randomUUID().slice(0, 8)}`; calendarIds.push(id); return id; };
const due = (calendar: string, from: string, duration: string) =>
  sys.call('GET', `/v1/calendars/${calendar}/due?from=${encodeURIComponent(from)}&duration=${duration}`, { key: staff });
const fieldPaths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path);

const office = {
  name: '南湖社区服务中心', timezone: 'Asia/Shanghai', weekdays: [1, 2, 3, 4, 5, 6],
  workingHours: [{ from: '09:00', to: '12:00' }, { from: '14:00', to: '18:00' }], holidays: 'cn',
};

describe('the built-in calendars', () => {
  it('lists always and cn-office, cn-office with the State Council notices it follows', async () => {
    const res = await sys.call('GET', '/v1/calendars', { key: staff });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.items.map((c: { id: string }) => [c.id, c]));
    expect(byId.always).toMatchObject({ builtIn: true, holidays: 'none', weekdays: [1, 2, 3, 4, 5, 6, 7] });
    expect(byId['cn-office']).toMatchObject({
      builtIn: true, timezone: 'Asia/Shanghai', weekdays: [1, 2, 3, 4, 5], holidays: 'cn',
      workingHours: [{ from: '08:30', to: '12:00' }, { from: '13:30', to: '17:30' }],
    });
    expect(byId['cn-office'].holidayNotices.map((n: { year: number }) => n.year)).toEqual(expect.arrayContaining([2025, 2026]));
    expect(byId['cn-office'].holidayNotices.find((n: { year: number }) => n.year === 2026).number).toBe('国办发明电〔2025〕7号');
    expect((await sys.call('GET', '/v1/calendars/cn-office', { key: staff })).body.id).toBe('cn-office');
    expect((await sys.call('GET', '/v1/calendars/no-such-calendar', { key: staff })).status).toBe(404);
  });

  it('cannot be changed', async () => {
    const res = await sys.call('PUT', '/v1/calendars/cn-office', { key: supervisor, body: office });
    expect(res.status).toBe(409);
    expect((await sys.call('GET', '/v1/calendars/cn-office')).body.weekdays).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('the due-date preview across the 2026 holidays', () => {
  it('16:00 Beijing on 30 September with 19 working hours: the morning of the make-up Saturday 10 October', async () => {
    const res = await due('cn-office', '2026-09-30T16:00:00+08:00', 'PT19H');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ calendar: 'cn-office', from: '2026-09-30T08:00:00.000Z', duration: 'PT19H', dueAt: '2026-10-10T03:00:00.000Z', provisional: false });
  });

  it('National Day: a day of work asked for on the eve of the holiday falls due on 8 October', async () => {
    // Wednesday 30 September 17:30 (closing time): 7.5 working hours are all of Thursday 8 October.
    expect((await due('cn-office', '2026-09-30T09:30:00Z', 'PT7H30M')).body.dueAt).toBe('2026-10-08T09:30:00.000Z');
  });

  it('Spring Festival: the make-up Saturdays 14 and 28 February count, 15-23 February do not', async () => {
    expect((await due('cn-office', '2026-02-13T16:00:00+08:00', 'PT4H')).body.dueAt).toBe('2026-02-14T03:00:00.000Z');
    expect((await due('cn-office', '2026-02-14T17:00:00+08:00', 'PT1H')).body.dueAt).toBe('2026-02-24T01:00:00.000Z');
    expect((await due('cn-office', '2026-02-27T17:30:00+08:00', 'PT3H')).body.dueAt).toBe('2026-02-28T03:30:00.000Z');
  });

  it('always counts every minute; a count into 2027 (no notice yet) is provisional', async () => {
    expect((await due('always', '2026-09-30T08:00:00Z', 'PT19H')).body).toMatchObject({ dueAt: '2026-10-01T03:00:00.000Z', provisional: false });
    expect((await due('cn-office', '2026-12-31T17:00:00+08:00', 'PT1H')).body).toMatchObject({ dueAt: '2027-01-01T01:00:00.000Z', provisional: true });
  });

  it('refuses a bad duration or instant naming the field, and an unknown calendar with 404', async () => {
    const bad = await due('cn-office', '2026-09-30T08:00:00Z', 'three-days');
    expect(bad.status).toBe(400);
    expect(fieldPaths(bad.body)).toEqual(['query.duration']);
    expect(new Set(fieldPaths((await due('cn-office', 'yesterday', 'PT1H')).body))).toEqual(new Set(['query.from']));
    expect((await due('no-such-calendar', '2026-09-30T08:00:00Z', 'PT1H')).status).toBe(404);
  });
});

describe('defining a calendar', () => {
  it('stores it (201, then 200 on replace) and counts on it', async () => {
    const id = newCalendarId();
    const created = await sys.call('PUT', `/v1/calendars/${id}`, { key: supervisor, body: { ...office, closedDates: ['2026-10-08'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, builtIn: false, weekdays: [1, 2, 3, 4, 5, 6], closedDates: ['2026-10-08'] });
    // 16:00 on 30 September: 2 h that day; 8 October closed by this calendar; Friday 9 October 09:00-12:00 and 14:00-18:00.
    expect((await due(id, '2026-09-30T16:00:00+08:00', 'PT8H')).body.dueAt).toBe('2026-10-09T09:00:00.000Z');
    const replaced = await sys.call('PUT', `/v1/calendars/${id}`, { key: supervisor, body: office });
    expect(replaced.status).toBe(200);
    expect((await due(id, '2026-09-30T16:00:00+08:00', 'PT8H')).body.dueAt).toBe('2026-10-08T09:00:00.000Z');
  });

  it.each([
    ['overlapping hours', { workingHours: [{ from: '09:00', to: '12:00' }, { from: '11:30', to: '18:00' }] }, 'body.workingHours.1'],
    ['inverted hours', { workingHours: [{ from: '18:00', to: '09:00' }] }, 'body.workingHours.0.to'],
    ['an unknown time zone', { timezone: 'Asia/Beijing' }, 'body.timezone'],
    ['a fixed offset instead of a zone', { timezone: '+08:00' }, 'body.timezone'],
    ['no working hours at all', { workingHours: [] }, 'body.workingHours'],
    ['no working weekday', { weekdays: [] }, 'body.weekdays'],
    ['a weekday 8', { weekdays: [1, 8] }, 'body.weekdays.1'],
    ['a date both closed and open', { closedDates: ['2026-10-10'], workingDates: ['2026-10-10'] }, 'body.workingDates.0'],
  ])('refuses %s with a 400 naming the field, and stores nothing', async (_what, change, path) => {
    const id = newCalendarId();
    const res = await sys.call('PUT', `/v1/calendars/${id}`, { key: supervisor, body: { ...office, ...change } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(fieldPaths(res.body)).toEqual([path]);
    expect((await sys.call('GET', `/v1/calendars/${id}`)).status).toBe(404);
  });
});

describe('the clock fields of SLA policies', () => {
  const policies = async () => (await sys.call('GET', '/v1/sla-policies')).body.items as Record<string, unknown>[];
  const hardship = (fields: Record<string, unknown>): Record<string, unknown> => ({ caseType: 'service_request', category: 'hardship', urgency: 'normal', ...fields });

  it('takes a calendar, escalation steps and maxHold', async () => {
    const body = hardship({ calendar: 'cn-office', fulfilmentTimeout: 'PT19H', escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT3S' }, { level: 3, after: 'PT6S' }], maxHold: 'P2D' });
    const res = await sys.call('PUT', '/v1/sla-policies', { key: supervisor, body });
    expect(res.status).toBe(200);
    expect((await policies()).find((p) => p.category === 'hardship')).toMatchObject({ calendar: 'cn-office', maxHold: 'P2D', escalationSteps: body.escalationSteps });
  });

  it('takes a care-plan policy of a calendar and escalation steps only (its missed visits\' escalations climb on it)', async () => {
    // The shipped defaults, stored explicitly: other tests' plans in this database count the same either way.
    const body = { caseType: 'care_plan', calendar: 'always', escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT4H' }, { level: 3, after: 'P1D' }] };
    expect((await sys.call('PUT', '/v1/sla-policies', { key: supervisor, body })).status).toBe(200);
    expect((await policies()).find((p) => p.caseType === 'care_plan')).toMatchObject({ calendar: 'always', escalationSteps: body.escalationSteps });
  });

  it.each([
    ['an unknown calendar', { calendar: 'no-such-calendar', fulfilmentTimeout: 'PT1H' }, ['body.calendar']],
    ['maxHold on a care plan', { caseType: 'care_plan', category: undefined, urgency: undefined, maxHold: 'P1D' }, ['body.maxHold']],
    ['a duration on a care plan', { caseType: 'care_plan', category: undefined, urgency: undefined, fulfilmentTimeout: 'PT1H' }, ['body.fulfilmentTimeout']],
    ['a level above 3', { escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 4, after: 'PT1H' }] }, ['body.escalationSteps.1.level']],
    ['levels out of order', { escalationSteps: [{ level: 2, after: 'PT0S' }, { level: 1, after: 'PT1H' }] }, ['body.escalationSteps.1.level']],
    ['waits out of order', { escalationSteps: [{ level: 1, after: 'PT4H' }, { level: 2, after: 'PT1H' }] }, ['body.escalationSteps.1.after']],
    ['maxHold on a registration', { caseType: 'registration', category: undefined, urgency: undefined, maxHold: 'P1D' }, ['body.maxHold']],
  ])('refuses %s naming the field, and stores nothing', async (_what, change, paths) => {
    const before = await policies();
    const res = await sys.call('PUT', '/v1/sla-policies', { key: supervisor, body: hardship({ urgency: 'urgent', ...change }) });
    expect(res.status).toBe(400);
    expect(fieldPaths(res.body)).toEqual(paths);
    expect(await policies()).toEqual(before);
  });
});

describe('escalation contacts', () => {
  const contact = (fields: Record<string, unknown> = {}) => ({
    name: '南湖社区党委书记', level: 2, communities: [sys.community], webhookUrl: 'http://127.0.0.1:9/escalations', webhookSecret: 'contact-secret-0123456789', ...fields,
  });

  it('are created, read, changed and removed; the secret is never shown', async () => {
    const created = await sys.call('POST', '/v1/escalation-contacts', { key: supervisor, body: contact() });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ level: 2, communities: [sys.community] });
    expect(JSON.stringify(created.body)).not.toContain('contact-secret');
    const id = created.body.id;
    const listed = await sys.call('GET', `/v1/escalation-contacts?level=2&community=${encodeURIComponent(sys.community)}`, { key: supervisor });
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await sys.call('GET', `/v1/escalation-contacts?level=3&community=${encodeURIComponent(sys.community)}`)).body.items).toEqual([]);
    const patched = await sys.call('PATCH', `/v1/escalation-contacts/${id}`, { key: supervisor, body: { level: 3 } });
    expect(patched.body.level).toBe(3);
    expect((await sys.call('GET', `/v1/escalation-contacts/${id}`)).body.level).toBe(3);
    expect((await sys.call('DELETE', `/v1/escalation-contacts/${id}`, { key: supervisor })).status).toBe(204);
    expect((await sys.call('GET', `/v1/escalation-contacts/${id}`)).status).toBe(404);
  });

  it.each([
    ['a level above 3', { level: 4 }, 'body.level'],
    ['no community', { communities: [] }, 'body.communities'],
    ['a short secret', { webhookSecret: 'short' }, 'body.webhookSecret'],
    ['a URL that is not one', { webhookUrl: 'not a url' }, 'body.webhookUrl'],
  ])('refuses %s naming the field', async (_what, change, path) => {
    const res = await sys.call('POST', '/v1/escalation-contacts', { key: supervisor, body: contact(change) });
    expect(res.status).toBe(400);
    expect(fieldPaths(res.body)).toEqual([path]);
  });
});
