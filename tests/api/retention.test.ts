/**
 * Retention (`npm run retention`, src/retention/*): personal data of cases closed longer ago
 * than RETENTION_AFTER leaves the read model; the figures, and so the reports, stay.
 * Cases carried through the real API and workflows, against the run's Postgres.
 */
import { loadConfig } from '../../src/config';
import { reconcileReadModel } from '../../src/reconciliation/reconcileReadModel';
import { redactPersonalData } from '../../src/retention/redaction';
import { runRetention } from '../../src/retention/retention';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, partnerActions, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

const DAY = 86_400_000;
const RESIDENT = { name: '孙秀英', phone: '13699990000', address: '9栋3单元502' };
const FREE_TEXT = ['卫生间漏水到楼下', '师傅下午到', '换了密封圈', '回访：已不漏', '师傅很耐心', '住户已搬走'];
const PERSONAL = [...Object.values(RESIDENT), ...FREE_TEXT];

let sys: TestSystem;
let sim: PartnerSimulator;
let staff: string;
beforeAll(async () => {
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
  staff = await sys.createKey('staff');
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

const act = (id: string, action: string, key: string, body: unknown = {}) => sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body });
const storedStatus = async (id: string) => (await sys.pool.query<{ status: string }>('SELECT status FROM cases WHERE id = $1', [id])).rows[0]?.status;

async function open(description: string): Promise<string> {
  const res = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { ...RESIDENT, community: sys.community, grid: 'G7', flags: ['elderly_alone'] }, category: 'housing', description, urgency: 'normal', channel: 'phone' },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Every stored text of a case: its row's details and its events' data. */
async function storedText(ids: string[]): Promise<string> {
  const { rows } = await sys.pool.query<{ t: string }>(
    `SELECT (SELECT string_agg(details::text, ' ') FROM cases WHERE id = ANY ($1)) || ' ' ||
            (SELECT string_agg(data::text, ' ') FROM case_events WHERE case_id = ANY ($1)) AS t`, [ids]);
  return rows[0].t;
}

const report = async () => (await sys.call('GET', `/v1/reports/summary?community=${encodeURIComponent(sys.community)}&groupBy=partner`)).body;

it('removes names, phones, addresses and free text of long-closed cases, keeping every figure', async () => {
  const partner = await sys.createPartner({ name: '留存物业', webhookUrl: sim.url, webhookSecret: sim.secret });
  const done = await open(FREE_TEXT[0]);
  await eventually(() => storedStatus(done), { accept: (s) => s === 'awaiting_ack', what: 'dispatched' });
  const asPartner = partnerActions(sys.url, partner.key);
  expect((await asPartner.accept(done)).response.status).toBe(200);
  expect((await asPartner.progress(done, FREE_TEXT[1])).response.status).toBe(200);
  expect((await asPartner.complete(done, FREE_TEXT[2], 2.5)).data?.status).toBe('awaiting_follow_up');
  expect((await act(done, 'follow-up', staff, { resolved: true, note: FREE_TEXT[3] })).status).toBe(200);
  expect((await act(done, 'survey', staff, { score: 4, comment: FREE_TEXT[4] })).status).toBe(200);
  const cancelled = await open('另一个诉求');
  await eventually(() => storedStatus(cancelled), { accept: (s) => s === 'awaiting_ack', what: 'dispatched' });
  expect((await act(cancelled, 'cancel', staff, { reason: FREE_TEXT[5] })).status).toBe(200);
  const ids = [done, cancelled];
  await eventually(async () => [await storedStatus(done), await storedStatus(cancelled)], { accept: (s) => s[0] === 'closed' && s[1] === 'cancelled', what: 'both closed' });
  await eventually(() => storedText(ids), { accept: (t) => FREE_TEXT.every((s) => t.includes(s)), what: 'every event written' });

  const before = { report: await report(), rows: (await sys.pool.query('SELECT id, status, category, satisfaction, outcome, hours_spent, within_sla, close_seconds, created_at, closed_at FROM cases WHERE id = ANY ($1) ORDER BY id', [ids])).rows };
  expect(before.report.groups.reduce((n: number, g: { total: number }) => n + g.total, 0)).toBe(2);
  const timelineBefore = (await sys.call('GET', `/v1/cases/${done}/history`)).body.map((e: { type: string }) => e.type);

  // Not yet due: closed minutes ago, kept for a year.
  const config = loadConfig({ DATABASE_URL: sys.config.DATABASE_URL });
  expect(config.retentionAfterMs).toBe(365 * DAY);
  await runRetention({ pool: sys.pool, retentionAfterMs: config.retentionAfterMs });
  const keptText = await storedText(ids);
  for (const s of PERSONAL) expect(keptText).toContain(s);

  // A year and a day later.
  const dry = await runRetention({ pool: sys.pool, retentionAfterMs: config.retentionAfterMs, now: new Date(Date.now() + 366 * DAY), dryRun: true });
  expect(dry.cases).toBeGreaterThanOrEqual(2);
  const summary = await runRetention({ pool: sys.pool, retentionAfterMs: config.retentionAfterMs, now: new Date(Date.now() + 366 * DAY), batchSize: 1 });
  expect(summary.cases).toBeGreaterThanOrEqual(2);

  const text = await storedText(ids);
  for (const s of PERSONAL) expect(text).not.toContain(s);
  const { rows: [row] } = await sys.pool.query('SELECT details, personal_data_removed_at FROM cases WHERE id = $1', [done]);
  expect(row.personal_data_removed_at).not.toBeNull();
  expect(row.details.resident).toEqual({ community: sys.community, grid: 'G7', flags: ['elderly_alone'] });
  expect(row.details.completion).toMatchObject({ hoursSpent: 2.5 });

  // The figures: the same rows, the same report, the same timeline (types, order).
  const after = (await sys.pool.query('SELECT id, status, category, satisfaction, outcome, hours_spent, within_sla, close_seconds, created_at, closed_at FROM cases WHERE id = ANY ($1) ORDER BY id', [ids])).rows;
  expect(after).toEqual(before.rows);
  expect(await report()).toEqual(before.report);
  const history = (await sys.call('GET', `/v1/cases/${done}/history`)).body as { type: string; data: Record<string, unknown> }[];
  expect(history.map((e) => e.type)).toEqual(timelineBefore);
  expect(history.find((e) => e.type === 'survey')!.data).toEqual({ score: 4 });

  // Done once: a second run finds nothing, and reconciliation does not restore it from history.
  expect((await runRetention({ pool: sys.pool, retentionAfterMs: config.retentionAfterMs, now: new Date(Date.now() + 366 * DAY) })).cases).toBe(0);
  const reconciled = await reconcileReadModel({ client: sys.client, pool: sys.pool, closedWithinMs: DAY, community: sys.community });
  expect(reconciled.cases.filter((c) => ids.includes(c.caseId)).map((c) => c.outcome)).toEqual(['in_sync', 'in_sync']);
  const textAfterReconcile = await storedText(ids);
  for (const s of PERSONAL) expect(textAfterReconcile).not.toContain(s);
});

describe('what counts as personal data', () => {
  it('covers registration applicants and typed reasons, and keeps machine codes, counts and numbers', () => {
    const details = {
      applicants: [{ name: '王芳', idNumber: '220402199001011234', phone: '13800000000' }, { name: '李强', idNumber: '220402198805052345', phone: '13900000000' }],
      property: { address: '龙山区1号', unitNo: '2-301', certificateNo: '吉(2025)辽源市不动产权第0000007号' },
      certificateNo: '吉(2026)辽源市不动产权第0000123号', sameDay: true, timeToCertificateMs: 1_200_000,
      reviews: { tax: { status: 'rejected', reason: '契税未缴清', partnerId: 'p1' } },
      withdrawal: { reason: '申请人撤回', by: 'staff:k1' }, survey: { score: 2, comment: '太慢' },
    };
    expect(redactPersonalData(details)).toEqual({
      applicants: [{}, {}], property: { certificateNo: '吉(2025)辽源市不动产权第0000007号' },
      certificateNo: '吉(2026)辽源市不动产权第0000123号', sameDay: true, timeToCertificateMs: 1_200_000,
      reviews: { tax: { status: 'rejected', partnerId: 'p1' } }, withdrawal: { by: 'staff:k1' }, survey: { score: 2 },
    });
    expect(redactPersonalData({ reason: 'fulfilment_overdue', partnerName: '南湖物业' })).toEqual({ reason: 'fulfilment_overdue', partnerName: '南湖物业' });
  });
});
