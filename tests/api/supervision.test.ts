/**
 * Supervisor views (docs/api.md "Supervisor views", issue 5) against the real API, worker,
 * Temporal dev server and Postgres (embedded, or the server named by DATABASE_URL):
 * the read model's idempotent writes, the case list, timelines, open deadlines through
 * their whole life, the summary report (JSON and CSV), and reconciliation.
 * Every test works in its own community, so it never sees another test's cases.
 */
import { randomUUID } from 'node:crypto';
import { recordCaseEventBatch } from '../../src/db/readModel';
import { reconcileReadModel } from '../../src/reconciliation/reconcileReadModel';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { after, event, snapshot, writeCase } from '../support/readModelFixtures';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
const sims: PartnerSimulator[] = [];

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff');
});
afterAll(async () => {
  await sys?.pool.query(`DELETE FROM sla_policies WHERE category = 'clothing'`).catch(() => undefined);
  await Promise.all(sims.map((s) => s.stop()));
  await sys?.stop();
});

const newCommunity = (label: string) => `${sys.community}-${label}-${randomUUID().slice(0, 6)}`;
const enc = encodeURIComponent;
const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((c) => c.id);

async function partnerIn(community: string, fields: Record<string, unknown> = {}) {
  const sim = await startPartnerSimulator();
  sims.push(sim);
  const p = await sys.createPartner({ name: '南湖物业', communities: [community], capacity: 10, webhookUrl: sim.url, webhookSecret: sim.secret, ...fields });
  return { ...p, sim };
}

async function openRequest(community: string, fields: Record<string, unknown> = {}): Promise<string> {
  const res = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { name: '李奶奶', phone: '13600001111', community }, category: 'housing', description: '水管漏水', urgency: 'normal', channel: 'phone', ...fields },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

const caseRow = async (id: string) => (await sys.pool.query('SELECT * FROM cases WHERE id = $1', [id])).rows[0];
const deadlineKinds = async (id: string) =>
  (await sys.pool.query<{ kind: string }>('SELECT kind FROM case_deadlines WHERE case_id = $1 ORDER BY kind', [id])).rows.map((r) => r.kind);
const eventCount = async (id: string) => (await sys.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM case_events WHERE case_id = $1', [id])).rows[0].n;

describe('read model writes', () => {
  it('ignores a replayed batch and an older batch arriving late, and moves deadlines with each snapshot', async () => {
    const community = newCommunity('replay');
    const opened = snapshot(community, { status: 'awaiting_ack', deadlines: { ack: after(new Date().toISOString(), 600) } });
    const first = { events: [event(1), event(2, 'dispatched')], snapshot: opened };
    await recordCaseEventBatch(sys.pool, first);
    const stored = await caseRow(opened.id);
    expect(await deadlineKinds(opened.id)).toEqual(['ack']);

    await recordCaseEventBatch(sys.pool, first);
    expect(await eventCount(opened.id)).toBe(2);
    expect((await caseRow(opened.id)).updated_at).toEqual(stored.updated_at);

    // Accepted: the acknowledgement deadline is cleared, the fulfilment one set.
    const accepted = { ...opened, status: 'in_progress', deadlines: { fulfilment: after(new Date().toISOString(), 3600) } };
    await recordCaseEventBatch(sys.pool, { events: [event(3, 'accepted')], snapshot: accepted });
    expect(await deadlineKinds(opened.id)).toEqual(['fulfilment']);

    // A retried activity delivering the first batch again, late: nothing moves back.
    await recordCaseEventBatch(sys.pool, first);
    expect((await caseRow(opened.id))).toMatchObject({ status: 'in_progress', last_seq: 3 });
    expect(await deadlineKinds(opened.id)).toEqual(['fulfilment']);
    expect(await eventCount(opened.id)).toBe(3);

    // A resync batch at the same seq rewrites a row that drifted (what the reconciler relies on).
    await sys.pool.query(`UPDATE cases SET status = 'escalated' WHERE id = $1`, [opened.id]);
    await sys.pool.query('DELETE FROM case_deadlines WHERE case_id = $1', [opened.id]);
    await recordCaseEventBatch(sys.pool, { events: [event(3, 'accepted')], snapshot: accepted });
    expect((await caseRow(opened.id)).status).toBe('escalated');
    await recordCaseEventBatch(sys.pool, { events: [event(3, 'accepted')], snapshot: accepted, resync: true });
    expect((await caseRow(opened.id)).status).toBe('in_progress');
    expect(await deadlineKinds(opened.id)).toEqual(['fulfilment']);
  });
});

describe('GET /v1/cases', () => {
  const base = '2021-03-01T08:00:00.000Z';
  let community: string;
  let c: Record<string, string>;

  beforeAll(async () => {
    community = newCommunity('list');
    const w = async (minutes: number, o: Parameters<typeof snapshot>[1]) => (await writeCase(sys.pool, snapshot(community, { createdAt: after(base, minutes * 60), ...o }))).id;
    c = {
      oldest: await w(0, { status: 'closed', category: 'food', partnerId: 'p-list-1', closedAt: after(base, 3600) }),
      overdue: await w(10, { status: 'in_progress', category: 'housing', partnerId: 'p-list-1', overdue: true }),
      reg: await w(20, { type: 'registration', status: 'in_review', category: 'transfer', urgency: null }),
      escalated: await w(30, { status: 'escalated', category: 'medical' }),
      newest: await w(40, { status: 'awaiting_ack', category: 'housing', partnerId: 'p-list-2' }),
    };
  });

  const list = (query: string, key?: string) => sys.call('GET', `/v1/cases?community=${enc(community)}${query}`, { key });

  it('lists both case types newest first, with every filter of docs/api.md', async () => {
    expect(ids(await list(''))).toEqual([c.newest, c.escalated, c.reg, c.overdue, c.oldest]);
    expect(ids(await list('&type=registration'))).toEqual([c.reg]);
    expect(ids(await list('&status=escalated'))).toEqual([c.escalated]);
    expect(ids(await list('&category=housing'))).toEqual([c.newest, c.overdue]);
    expect(ids(await list('&category=transfer'))).toEqual([c.reg]);
    expect(ids(await list('&partnerId=p-list-1'))).toEqual([c.overdue, c.oldest]);
    expect(ids(await list('&overdue=true'))).toEqual([c.overdue]);
    expect(ids(await list('&overdue=false'))).toEqual([c.newest, c.escalated, c.reg, c.oldest]);
    // from inclusive, to exclusive
    expect(ids(await list(`&from=${enc(after(base, 600))}&to=${enc(after(base, 1800))}`))).toEqual([c.reg, c.overdue]);
    const row = (await list('&type=registration')).body.items[0];
    expect(row).toMatchObject({ id: c.reg, type: 'registration', status: 'in_review', category: 'transfer', community, createdAt: after(base, 1200) });
    expect(row).not.toHaveProperty('details');
  });

  it('pages with a cursor that loses no case, even within one millisecond', async () => {
    // Two more cases 1 µs apart, the newer with the smaller id: a cursor cut to milliseconds
    // would skip the older one at the page boundary.
    const newer = (await writeCase(sys.pool, snapshot(community, { id: `a-${randomUUID()}`, createdAt: after(base, 50 * 60) }))).id;
    const older = (await writeCase(sys.pool, snapshot(community, { id: `b-${randomUUID()}`, createdAt: after(base, 50 * 60) }))).id;
    await sys.pool.query(`UPDATE cases SET created_at = created_at + interval '1 microsecond' WHERE id = $1`, [newer]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await list(`&limit=1${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...ids(page));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([newer, older, c.newest, c.escalated, c.reg, c.overdue, c.oldest]);
    await sys.pool.query('DELETE FROM cases WHERE id = ANY ($1)', [[newer, older]]);
  });

  it('merges the communities of a limited key newest first, the same page by page whichever way it is read', async () => {
    // A second community's cases between and at the same instants as the first's: the key's
    // list is both communities' cases in one (created_at, id) order, filters and cursor applied.
    const second = newCommunity('list-second');
    const w = async (minutes: number, o: Parameters<typeof snapshot>[1]) => (await writeCase(sys.pool, snapshot(second, { createdAt: after(base, minutes * 60), ...o }))).id;
    const s = {
      first: await w(5, { status: 'in_progress', overdue: true }),
      tie: await w(20, { status: 'in_progress', id: `zz-${randomUUID()}` }), // same instant as c.reg, larger id: listed before it
      last: await w(45, { status: 'awaiting_ack' }),
    };
    const every = [s.last, c.newest, c.escalated, s.tie, c.reg, c.overdue, s.first, c.oldest];
    // Two communities read one at a time (src/db/caseViews.ts), and the same two among more
    // than SCOPE_PER_COMMUNITY_MAX (a filter over the newest cases of every community).
    const few = await sys.createKey('supervisor', { communities: [community, second] });
    const many = await sys.createKey('supervisor', { communities: [community, second, ...Array.from({ length: 8 }, (_, i) => `${second}-empty-${i}`)] });
    const pages = async (key: string, query: string, limit: number) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await sys.call('GET', `/v1/cases?limit=${limit}${query}${cursor ? `&cursor=${enc(cursor)}` : ''}`, { key });
        expect(page.status).toBe(200);
        seen.push(...ids(page));
        cursor = page.body.nextCursor;
      } while (cursor);
      return seen;
    };
    for (const key of [few, many]) {
      expect(await pages(key, '', 500)).toEqual(every);
      expect(await pages(key, '', 3)).toEqual(every);
      expect(await pages(key, '&status=in_progress', 1)).toEqual([s.tie, c.overdue, s.first]);
      expect(await pages(key, '&overdue=true', 2)).toEqual([c.overdue, s.first]);
      expect(await pages(key, `&from=${enc(after(base, 600))}&to=${enc(after(base, 2700))}`, 2)).toEqual([c.newest, c.escalated, s.tie, c.reg, c.overdue]);
      expect(await pages(key, `&community=${enc(second)}`, 2)).toEqual([s.last, s.tie, s.first]);
    }
    await sys.pool.query('DELETE FROM cases WHERE id = ANY ($1)', [Object.values(s)]);
  });

  it('refuses bad filters and cursors with 400', async () => {
    expect((await list('&cursor=nonsense')).status).toBe(400);
    expect((await list('&status=lost')).status).toBe(400);
    expect((await list('&overdue=maybe')).status).toBe(400);
    const reversed = await list(`&from=${enc(after(base, 60))}&to=${enc(base)}`);
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors[0].path).toBe('query.to');
  });

  it('keeps a key limited to communities inside them', async () => {
    const other = newCommunity('list-other');
    const outside = (await writeCase(sys.pool, snapshot(other))).id;
    const limited = await sys.createKey('supervisor', { communities: [community] });
    const all = await sys.call('GET', '/v1/cases?limit=500', { key: limited });
    expect(all.status).toBe(200);
    expect(all.body.items.every((i: { community: string }) => i.community === community)).toBe(true);
    expect(ids(all)).not.toContain(outside);
    expect((await sys.call('GET', `/v1/cases?community=${enc(other)}`, { key: limited })).status).toBe(403);
    expect((await sys.call('GET', `/v1/cases/${outside}/history`, { key: limited })).status).toBe(403);
    const partner = await partnerIn(community);
    expect((await sys.call('GET', '/v1/cases', { key: partner.key })).status).toBe(403);
  });
});

describe('GET /v1/cases/{id}/history', () => {
  it('is the timeline oldest first, each notification with every delivery attempt', async () => {
    const community = newCommunity('history');
    const p = await partnerIn(community, { categories: ['housing'] });
    let calls = 0;
    p.sim.respond = () => (++calls === 1 ? 503 : 200); // the first attempt fails, the retry lands
    const id = await openRequest(community);
    const timeline = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`, { key: staff })).body, {
      accept: (h: any[]) => h.some((e) => e.type === 'notification_delivered'), what: 'the delivered dispatch', timeoutMs: 30_000,
    });
    expect(timeline.map((e: any) => e.type)).toEqual(['intake', 'dispatched', 'notification_delivered']);
    expect(timeline.map((e: any) => e.seq)).toEqual([1, 2, 3]);
    expect(timeline.map((e: any) => Date.parse(e.at))).toEqual([...timeline.map((e: any) => Date.parse(e.at))].sort((a, b) => a - b));
    expect(timeline[2].data).toMatchObject({ event: 'order.dispatched', partnerId: p.id, attempts: 2, httpStatus: 200 });
    expect(timeline[2].data.attemptLog).toEqual([
      expect.objectContaining({ attempt: 1, httpStatus: 503, error: null }),
      expect.objectContaining({ attempt: 2, httpStatus: 200 }),
    ]);
    expect((await sys.call('GET', `/v1/cases/${randomUUID()}/history`)).status).toBe(404);
  });
});

describe('deadlines of a real case: set when a timer starts, cleared when it fires or the case is cancelled', () => {
  const timeouts = async (community: string) =>
    (await sys.call('GET', `/v1/timeouts?within=PT1H&community=${enc(community)}`, { key: staff })).body.items as any[];

  it('follows acknowledgement and fulfilment deadlines through dispatch, accept, breach, cancel and timeout', async () => {
    // A category no other suite uses, so these short SLAs touch nobody else's cases.
    const put = await sys.call('PUT', '/v1/sla-policies', {
      body: { caseType: 'service_request', category: 'clothing', urgency: 'urgent', ackTimeout: 'PT5S', reminderAfter: 'PT1M', fulfilmentTimeout: 'PT3S', maxDispatchAttempts: 1 },
    });
    expect(put.status).toBe(200);
    const community = newCommunity('sla');
    const p = await partnerIn(community, { categories: ['clothing'] });
    const [unanswered, accepted] = [await openRequest(community, { category: 'clothing', urgency: 'urgent' }), await openRequest(community, { category: 'clothing', urgency: 'urgent' })];

    // Dispatched: each has an open acknowledgement deadline, not yet breached.
    const open = await eventually(() => timeouts(community), { accept: (items) => items.filter((i) => i.kind === 'ack').length === 2, what: 'two ack deadlines' });
    expect(open.map((i) => i.caseId).sort()).toEqual([unanswered, accepted].sort());
    expect(open.every((i) => !i.breached && i.caseType === 'service_request' && i.status === 'awaiting_ack' && i.partnerId === p.id)).toBe(true);

    // Accepted: acknowledgement cleared, fulfilment set; past it, the deadline shows breached.
    expect((await sys.call('POST', `/v1/service-requests/${accepted}/accept`, { key: p.key })).status).toBe(200);
    const breached = await eventually(() => timeouts(community), {
      accept: (items) => items.some((i) => i.caseId === accepted && i.kind === 'fulfilment' && i.breached), what: 'a breached fulfilment deadline',
    });
    expect(breached.filter((i) => i.caseId === accepted).map((i) => i.kind)).toEqual(['fulfilment']);
    // The deadline is breached by the clock at once; the case turns overdue when the workflow's timer fires.
    await eventually(async () => ids(await sys.call('GET', `/v1/cases?community=${enc(community)}&overdue=true`)), {
      accept: (overdue) => overdue.length === 1 && overdue[0] === accepted, what: 'the accepted case overdue',
    });

    // Cancelled: its deadline goes.
    expect((await sys.call('POST', `/v1/service-requests/${accepted}/cancel`, { key: staff, body: { reason: '居民撤回' } })).status).toBe(200);
    // The unanswered one: the acknowledgement timer fires, nobody is left, the case escalates with no deadline.
    await eventually(async () => (await caseRow(unanswered))?.status === 'escalated' && (await caseRow(accepted))?.status === 'cancelled', { what: 'timeout and cancel recorded', timeoutMs: 30_000 });
    expect(await timeouts(community)).toEqual([]);
    // What stays open is the escalation chain's next level (docs/sla-clocks.md), hours away.
    expect(await deadlineKinds(unanswered)).toEqual(['escalation']);
    expect(await deadlineKinds(accepted)).toEqual([]);
    const history = (await sys.call('GET', `/v1/cases/${unanswered}/history`)).body.map((e: any) => e.type);
    expect(history).toEqual(expect.arrayContaining(['dispatched', 'ack_timeout', 'escalated']));
  });
});

describe('GET /v1/timeouts', () => {
  let community: string;
  const now = () => new Date().toISOString();
  let c: Record<string, string>;

  beforeAll(async () => {
    community = newCommunity('timeouts');
    const w = async (o: Parameters<typeof snapshot>[1]) => (await writeCase(sys.pool, snapshot(community, o))).id;
    c = {
      breached: await w({ status: 'in_progress', partnerId: 'p-t', deadlines: { fulfilment: after(now(), -600) } }),
      soon: await w({ status: 'awaiting_ack', partnerId: 'p-t', deadlines: { ack: after(now(), 1800) } }),
      later: await w({ status: 'awaiting_follow_up', deadlines: { follow_up: after(now(), 7200) } }),
      review: await w({ type: 'registration', status: 'in_review', category: 'mortgage', deadlines: { review: after(now(), 900), survey: after(now(), 86_400) } }),
      // A closed case whose snapshot still named a deadline: not anyone's to meet.
      closed: await w({ status: 'closed', deadlines: { survey: after(now(), -60) } }),
    };
  });

  const get = (query: string, key?: string) => sys.call('GET', `/v1/timeouts?community=${enc(community)}${query}`, { key });

  it('lists open deadlines due within the window or breached, soonest first, across both case types', async () => {
    const res = await get('&within=PT1H');
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: any) => [i.caseId, i.kind, i.breached])).toEqual([
      [c.breached, 'fulfilment', true], [c.review, 'review', false], [c.soon, 'ack', false],
    ]);
    expect(res.body.items[1]).toEqual({
      caseId: c.review, caseType: 'registration', kind: 'review', dueAt: expect.any(String), breached: false,
      status: 'in_review', community, partnerId: null,
    });
    expect(res.body.nextCursor).toBeNull();
    expect((await get('&within=PT3H')).body.items.map((i: any) => i.kind)).toEqual(['fulfilment', 'review', 'ack', 'follow_up']);
    // Without `within`: one hour.
    expect((await get('')).body.items).toHaveLength(3);
  });

  it('filters by kind, case type and partner, and pages with a cursor', async () => {
    expect((await get('&within=P2D&kind=survey')).body.items.map((i: any) => i.caseId)).toEqual([c.review]);
    expect((await get('&within=P2D&type=registration')).body.items.map((i: any) => i.kind)).toEqual(['review', 'survey']);
    expect((await get('&within=P2D&partnerId=p-t')).body.items.map((i: any) => i.caseId)).toEqual([c.breached, c.soon]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(`&within=P2D&limit=2${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      seen.push(...page.body.items.map((i: any) => `${i.caseId}/${i.kind}`));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([`${c.breached}/fulfilment`, `${c.review}/review`, `${c.soon}/ack`, `${c.later}/follow_up`, `${c.review}/survey`]);
  });

  it('merges the communities of a limited key soonest first, the same page by page whichever way it is read', async () => {
    const second = newCommunity('timeouts-second');
    const { rows } = await sys.pool.query<{ due_at: Date }>(`SELECT due_at FROM case_deadlines WHERE case_id = $1 AND kind = 'review'`, [c.review]);
    const w = async (o: Parameters<typeof snapshot>[1]) => (await writeCase(sys.pool, snapshot(second, o))).id;
    const s = {
      first: await w({ status: 'in_progress', deadlines: { fulfilment: after(now(), -1200) } }),
      // Due at the same instant as c.review's review, a larger id: listed after it.
      tie: await w({ id: `zz-${randomUUID()}`, type: 'registration', status: 'in_review', category: 'mortgage', deadlines: { review: rows[0].due_at.toISOString() } }),
      last: await w({ status: 'awaiting_ack', deadlines: { ack: after(now(), 3600) } }),
    };
    const few = await sys.createKey('staff', { communities: [community, second] });
    const many = await sys.createKey('staff', { communities: [second, community, ...Array.from({ length: 8 }, (_, i) => `${second}-empty-${i}`)] });
    const pages = async (key: string, query: string, limit: number) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await sys.call('GET', `/v1/timeouts?within=P2D&limit=${limit}${query}${cursor ? `&cursor=${enc(cursor)}` : ''}`, { key });
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((i: any) => `${i.caseId}/${i.kind}`));
        cursor = page.body.nextCursor;
      } while (cursor);
      return seen;
    };
    const every = [`${s.first}/fulfilment`, `${c.breached}/fulfilment`, `${c.review}/review`, `${s.tie}/review`, `${c.soon}/ack`, `${s.last}/ack`,
      `${c.later}/follow_up`, `${c.review}/survey`];
    for (const key of [few, many]) {
      expect(await pages(key, '', 500)).toEqual(every);
      expect(await pages(key, '', 3)).toEqual(every);
      expect(await pages(key, '&kind=review', 1)).toEqual([`${c.review}/review`, `${s.tie}/review`]);
      expect(await pages(key, '&type=registration', 2)).toEqual([`${c.review}/review`, `${s.tie}/review`, `${c.review}/survey`]);
      expect(await pages(key, `&community=${enc(second)}`, 2)).toEqual([`${s.first}/fulfilment`, `${s.tie}/review`, `${s.last}/ack`]);
    }
    await sys.pool.query('DELETE FROM case_deadlines WHERE case_id = ANY ($1)', [Object.values(s)]);
    await sys.pool.query('DELETE FROM cases WHERE id = ANY ($1)', [Object.values(s)]);
  });

  it('checks its input, roles and scope', async () => {
    expect((await get('&within=soon')).status).toBe(400);
    expect((await get('&kind=lunch')).status).toBe(400);
    expect((await get('&cursor=x')).status).toBe(400);
    const limited = await sys.createKey('staff', { communities: [community] });
    const mine = await sys.call('GET', '/v1/timeouts?within=P2D&limit=500', { key: limited });
    expect(mine.body.items.length).toBeGreaterThanOrEqual(5);
    expect(mine.body.items.every((i: any) => i.community === community)).toBe(true);
    expect((await sys.call('GET', `/v1/timeouts?community=${enc(newCommunity('x'))}`, { key: limited })).status).toBe(403);
    const partner = await partnerIn(community);
    expect((await sys.call('GET', '/v1/timeouts', { key: partner.key })).status).toBe(403);
  });
});

describe('GET /v1/reports/summary', () => {
  const t0 = '2020-06-01T02:00:00.000Z';
  let community: string;
  let p1: string;
  let p2: string;

  beforeAll(async () => {
    community = newCommunity('report');
    p1 = (await sys.createPartner({ name: '=SUM(1,2) "老"物业', categories: ['housing'], communities: [community], webhookUrl: 'http://127.0.0.1:9/x' })).id;
    p2 = (await sys.createPartner({ name: '社区医院', kind: 'co_building_unit', categories: ['medical'], communities: [community], webhookUrl: 'http://127.0.0.1:9/x' })).id;
    const at = (s: number | null) => (s === null ? null : after(t0, s));
    const sr = (o: Parameters<typeof snapshot>[1], times: [number | null, number | null, number | null], details: Record<string, unknown> = {}) =>
      writeCase(sys.pool, snapshot(community, { createdAt: t0, acknowledgedAt: at(times[0]), completedAt: at(times[1]), closedAt: at(times[2]), details, ...o }));
    await sr({ partnerId: p1, status: 'closed', satisfaction: 5, outcome: 'satisfied' }, [60, 3600, 7200], { completion: { hoursSpent: 2 }, fulfilmentBreached: false });
    await sr({ partnerId: p1, status: 'closed', satisfaction: 3, outcome: 'unsatisfied', reopenCount: 1 }, [120, 7200, 10800], { completion: { hoursSpent: 1.5 }, fulfilmentBreached: true });
    await sr({ partnerId: p2, category: 'medical', status: 'in_progress', overdue: true }, [300, null, null], { fulfilmentBreached: true });
    await sr({ partnerId: p2, category: 'medical', status: 'closed', outcome: 'no_response' }, [30, 1800, 5400], { completion: { hoursSpent: null }, fulfilmentBreached: false });
    await sr({ status: 'cancelled' }, [null, null, 100], { fulfilmentBreached: false });
    const reg = (o: Parameters<typeof snapshot>[1], times: [number, number, number | null], ttcMs: number, sameDay: boolean) =>
      writeCase(sys.pool, snapshot(community, {
        type: 'registration', urgency: null, createdAt: t0, acknowledgedAt: at(times[0]), completedAt: at(times[1]), closedAt: at(times[2]),
        details: { timeToCertificateMs: ttcMs, completionTargetMs: 1_200_000, withinCompletionTarget: ttcMs <= 1_200_000, sameDay }, ...o,
      }));
    await reg({ category: 'transfer', status: 'closed', satisfaction: 4, outcome: 'satisfied' }, [60, 1260, 3000], 1_200_000, true);
    await reg({ category: 'mortgage', status: 'awaiting_delivery' }, [60, 3660, null], 3_600_000, false);
    // Outside the window: must not count.
    await sr({ createdAt: after(t0, -86_400), status: 'closed', satisfaction: 1 }, [1, 2, 3]);
  });

  const window = () => `from=${enc(t0)}&to=${enc(after(t0, 1))}&community=${enc(community)}`;

  it('computes counts, medians and p90s, SLA share, reopen and response rates, hours and registration measures', async () => {
    const res = await sys.call('GET', `/v1/reports/summary?groupBy=partner&${window()}`);
    expect(res.status).toBe(200);
    const { overall, groups } = res.body;
    expect(overall).toEqual({
      total: 7,
      byStatus: { closed: 4, in_progress: 1, cancelled: 1, awaiting_delivery: 1 },
      timeToAcknowledge: { cases: 6, median: 60, p90: 210 },
      timeToComplete: { cases: 5, median: 3600, p90: 5784 },
      // closed cases only (not the cancelled one): 3000, 5400, 7200, 10800
      timeToClose: { cases: 4, median: 6300, p90: 9720 },
      insideSlaShare: 0.6, // completed 5, of which 3 inside (the breached request and the slow registration are not)
      reopenRate: 0.2, // 1 of 5 service requests
      satisfaction: { mean: 4, answered: 3, due: 4, responseRate: 0.75 },
      serviceHours: 3.5,
      registration: { certified: 2, sameDayShare: 0.5, medianTimeToCertificate: 2400 },
    });
    const byKey = Object.fromEntries(groups.map((g: any) => [g.key, g]));
    expect(Object.keys(byKey).sort()).toEqual([p1, p2, 'null'].sort());
    expect(byKey[p1]).toMatchObject({
      label: '=SUM(1,2) "老"物业', total: 2, byStatus: { closed: 2 },
      timeToAcknowledge: { cases: 2, median: 90, p90: 114 }, timeToComplete: { cases: 2, median: 5400, p90: 6840 },
      timeToClose: { cases: 2, median: 9000, p90: 10440 }, insideSlaShare: 0.5, reopenRate: 0.5,
      satisfaction: { mean: 4, answered: 2, due: 2, responseRate: 1 }, serviceHours: 3.5,
      registration: { certified: 0, sameDayShare: null, medianTimeToCertificate: null },
    });
    expect(byKey.null).toMatchObject({ key: null, total: 3, registration: { certified: 2 } });

    const byCategory = (await sys.call('GET', `/v1/reports/summary?groupBy=category&${window()}`)).body.groups;
    expect(Object.fromEntries(byCategory.map((g: any) => [g.key, g.total]))).toEqual({ housing: 3, medical: 2, transfer: 1, mortgage: 1 });
    const byCommunity = (await sys.call('GET', `/v1/reports/summary?groupBy=community&${window()}`)).body;
    expect(byCommunity.groups).toHaveLength(1);
    expect(byCommunity.groups[0]).toMatchObject({ key: community, label: community, total: 7 });
    const widened = (await sys.call('GET', `/v1/reports/summary?community=${enc(community)}`)).body;
    expect(widened.overall.total).toBe(8);
  });

  it('answers CSV when asked, with spreadsheet-safe cells', async () => {
    const res = await fetch(`${sys.url}/v1/reports/summary?groupBy=partner&${window()}`, { headers: { authorization: `Bearer ${sys.adminKey}`, accept: 'text/csv' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trimEnd().split('\r\n');
    const header = lines[0].split(',');
    expect(header.slice(0, 5)).toEqual(['partner', 'label', 'total', 'ack_cases', 'ack_median_s']);
    expect(header).toEqual(expect.arrayContaining(['inside_sla_share', 'reopen_rate', 'mean_satisfaction', 'survey_response_rate', 'service_hours', 'same_day_share', 'status_closed']));
    expect(lines).toHaveLength(1 + 3 + 1);
    const p1Line = lines.find((l) => l.startsWith(p1))!;
    expect(p1Line).toContain(`${p1},"'=SUM(1,2) ""老""物业",2,2,90,114,`);
    const all = lines[lines.length - 1].split(',');
    expect(all[0]).toBe('(all)');
    expect(all[header.indexOf('total')]).toBe('7');
    expect(all[header.indexOf('status_closed')]).toBe('4');
  });

  it('is for admins and supervisors, within the communities of their key', async () => {
    const limited = await sys.createKey('supervisor', { communities: [community] });
    const mine = await sys.call('GET', `/v1/reports/summary?from=${enc(t0)}&to=${enc(after(t0, 1))}`, { key: limited });
    expect(mine.status).toBe(200);
    expect(mine.body.overall.total).toBe(7);
    expect((await sys.call('GET', `/v1/reports/summary?community=${enc(newCommunity('y'))}`, { key: limited })).status).toBe(403);
    expect((await sys.call('GET', '/v1/reports/summary', { key: staff })).status).toBe(403);
    expect((await sys.call('GET', '/v1/reports/summary?groupBy=weather')).status).toBe(400);
    const empty = await sys.call('GET', `/v1/reports/summary?community=${enc(newCommunity('none'))}`);
    expect(empty.body).toMatchObject({ groups: [], overall: { total: 0, timeToAcknowledge: { cases: 0, median: null }, reopenRate: null } });
  });
});

describe('reconciliation (npm run reconcile)', () => {
  it('brings back live cases of both types whose rows were lost, and a closed one from its history', async () => {
    const community = newCommunity('reconcile');
    const p = await partnerIn(community, { categories: ['housing'] });
    const live = await openRequest(community);
    const closed = await openRequest(community);
    // A registration waiting for documents: the other case workflow, with its supplement deadline.
    const registration = await sys.call('POST', '/v1/registrations', {
      key: staff,
      body: {
        applicants: [{ name: '赵先生', idNumber: '220102198001011234', phone: '13500003333' }], property: { address: '人民大街 1 号' },
        businessType: 'transfer', documents: ['applicant_id'], delivery: 'window', community,
      },
    });
    expect(registration.status).toBe(201);
    const reg = registration.body.id as string;
    await eventually(async () => (await caseRow(live))?.status === 'awaiting_ack' && (await caseRow(closed))?.status === 'awaiting_ack'
      && (await caseRow(reg))?.status === 'awaiting_documents', { what: 'both dispatched, the registration waiting' });
    expect((await sys.call('POST', `/v1/service-requests/${live}/accept`, { key: p.key })).status).toBe(200);
    expect((await sys.call('POST', `/v1/service-requests/${closed}/cancel`, { key: staff, body: { reason: '重复登记' } })).status).toBe(200);
    await eventually(async () => (await caseRow(live))?.status === 'in_progress' && (await caseRow(closed))?.status === 'cancelled', { what: 'accept and cancel recorded' });
    await eventually(async () => (await sys.client.workflow.getHandle(`service-request:${closed}`).describe()).status.name === 'COMPLETED', { what: 'closed workflow' });
    const before = {
      live: await caseRow(live), liveEvents: await eventCount(live), closed: await caseRow(closed), closedEvents: await eventCount(closed),
      reg: await caseRow(reg), regEvents: await eventCount(reg),
    };
    expect(await deadlineKinds(live)).toEqual(['fulfilment']);
    expect(await deadlineKinds(reg)).toEqual(['supplement']);

    const scope = { client: sys.client, pool: sys.pool, community, taskQueue: sys.taskQueue };
    // Visibility follows the workflows' state a moment later: wait until it lists the cancelled case as closed.
    await eventually(() => reconcileReadModel(scope), { accept: (s) => s.checked === 2 && s.inSync === 2, what: 'two running cases in sync' });

    // The outage: rows lost for both cases.
    for (const id of [live, closed, reg]) {
      await sys.pool.query('DELETE FROM cases WHERE id = $1', [id]);
      await sys.pool.query('DELETE FROM case_events WHERE case_id = $1 AND seq > 1', [id]);
      await sys.pool.query('DELETE FROM case_deadlines WHERE case_id = $1', [id]);
    }
    const dry = await eventually(() => reconcileReadModel({ ...scope, dryRun: true, closedWithinMs: 600_000 }), {
      accept: (s) => s.checked === 3, what: 'the closed case listed',
    });
    expect(dry).toMatchObject({ checked: 3, drifted: 3, repaired: 0 });
    expect(dry.cases.find((x) => x.caseId === live)!.reasons).toEqual(expect.arrayContaining(['case row missing']));
    expect(await caseRow(live)).toBeUndefined();

    const summary = await reconcileReadModel({ ...scope, closedWithinMs: 600_000 });
    expect(summary).toMatchObject({ checked: 3, drifted: 3, repaired: 3, unrepaired: 0, unreachable: 0 });
    const restored = {
      live: await caseRow(live), liveEvents: await eventCount(live), closed: await caseRow(closed), closedEvents: await eventCount(closed),
      reg: await caseRow(reg), regEvents: await eventCount(reg),
    };
    const comparable = (r: Record<string, unknown>) => { const { updated_at: _u, ...rest } = r; return rest; };
    expect(comparable(restored.live)).toEqual(comparable(before.live));
    expect(comparable(restored.closed)).toEqual(comparable(before.closed));
    expect(comparable(restored.reg)).toEqual(comparable(before.reg));
    expect([restored.liveEvents, restored.closedEvents, restored.regEvents]).toEqual([before.liveEvents, before.closedEvents, before.regEvents]);
    expect(await deadlineKinds(live)).toEqual(['fulfilment']);
    expect(await deadlineKinds(reg)).toEqual(['supplement']);

    // A row that is present but wrong (same last seq) is rewritten too.
    await sys.pool.query(`UPDATE cases SET status = 'escalated', overdue = true WHERE id = $1`, [live]);
    expect(await reconcileReadModel(scope)).toMatchObject({ checked: 2, drifted: 1, repaired: 1 });
    expect(await caseRow(live)).toMatchObject({ status: 'in_progress', overdue: false });
    expect(await reconcileReadModel({ ...scope, closedWithinMs: 600_000 })).toMatchObject({ checked: 3, inSync: 3, drifted: 0 });
  });
});
