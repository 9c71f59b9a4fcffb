/**
 * A care-plan visit's order link in real Chromium on a phone: the carer opens the link from
 * visit.scheduled, taps 签到 (check-in), then 签退 (check-out), and the plan counts the visit.
 */
import { launchBrowser, PHONE, type TestBrowser } from '../support/browser';
import { eventually } from '../support/eventually';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let browser: TestBrowser;
let sim: PartnerSimulator;
let carers: { id: string; key: string };
let staff: string;

beforeAll(async () => {
  sys = await startTestSystem();
  browser = await launchBrowser();
  sim = await startPartnerSimulator();
  staff = await sys.createKey('staff', { communities: [sys.community] });
  carers = await sys.createPartner({ name: '夕阳红养老服务中心', kind: 'social_org', categories: ['medical'], webhookUrl: sim.url, webhookSecret: sim.secret });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await sys?.stop();
});
afterEach(() => {
  expect(browser.problems).toEqual([]);
});

it('the carer opens the visit link on a phone and taps 签到, then 签退', async () => {
  const created = await sys.call('POST', '/v1/care-plans', {
    key: staff, body: {
      resident: { name: '张奶奶', phone: '13900001111', community: sys.community, address: '5号楼1单元302', flags: ['elderly_alone'] },
      partnerId: carers.id, services: ['rehab_massage'],
      // Check-in opens lateAfter before the visit is due: at once.
      schedule: { firstVisitAt: new Date(Date.now() + 5000).toISOString(), every: 'PT1H', visitLength: 'PT1S', lateAfter: 'PT30S', missedAfter: 'PT60S' },
    },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const scheduled = await eventually(async () => sim.received.find((d) => d.event === 'visit.scheduled' && d.body.caseId === id), { what: 'visit.scheduled', timeoutMs: 30_000 });
  const link = (scheduled!.body as Record<string, any>).links.order as string;
  const token = /\/p\/([A-Za-z0-9_-]{43})$/.exec(link)![1];

  const ctx = await browser.context(PHONE);
  const page = await ctx.newPage();
  await page.goto(`${sys.url}/p/${token}`);
  await page.getByText('张奶奶').waitFor();
  await page.getByText('康复按摩').waitFor();
  expect(await page.getByRole('button', { name: '签退' }).count()).toBe(0);
  await page.getByLabel('服务人员姓名').fill('李护工');
  await page.getByRole('button', { name: '签到' }).tap();
  await page.getByText('已签到，请开始服务。').first().waitFor();
  await page.getByRole('button', { name: '签退' }).waitFor();
  expect(await page.getByRole('button', { name: '签到' }).count()).toBe(0);
  await page.getByRole('button', { name: '签退' }).tap();
  await page.getByText('已签退，感谢您的服务！').waitFor();
  expect(await page.getByRole('button', { name: '签退' }).count()).toBe(0);

  const plan = await sys.call('GET', `/v1/care-plans/${id}`, { key: staff });
  expect(plan.body.visits.completed).toBe(1);
  expect(plan.body.hoursTotal).toBeGreaterThan(0);
  await ctx.close();
}, 90_000);
