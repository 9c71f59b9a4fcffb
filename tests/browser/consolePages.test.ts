/**
 * The console's care-plan, registration, partner and password pages in real Chromium
 * (docs/console.md): a grid leader opens a plan (一人一策) and cancels its first visit; the
 * carer's account checks a visit in and out from 我的工单 on a phone; the window staff
 * supplements documents and records delivery; an admin edits a partner; a person changes its
 * password. Bad input ends as a sentence on the page. Screenshots go to docs/img/ when
 * UPDATE_SCREENSHOTS=1.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, PHONE, type TestBrowser } from '../support/browser';
import { eventually } from '../support/eventually';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { createUser, TEST_PASSWORD } from '../support/sessions';
import { startTestSystem, type TestSystem } from '../support/system';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? resolve(__dirname, '../../docs/img') : null;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });
const shot = async (page: Page, name: string) => { if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }); };

let sys: TestSystem;
let browser: TestBrowser;
let sim: PartnerSimulator;
let carers: { id: string; key: string };
let staff: { id: string; username: string };
let staffKey: string;

beforeAll(async () => {
  sys = await startTestSystem();
  browser = await launchBrowser();
  sim = await startPartnerSimulator();
  carers = await sys.createPartner({ name: '夕阳红养老服务中心', kind: 'social_org', categories: ['medical'], capacity: 20, webhookUrl: sim.url, webhookSecret: sim.secret });
  staff = await createUser(sys, 'staff', { displayName: '王网格长', communities: [sys.community] });
  staffKey = await sys.createKey('staff', { communities: [sys.community] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await sys?.stop();
});
afterEach(() => {
  expect(browser.problems).toEqual([]);
});

async function logIn(ctx: BrowserContext, username: string, password = TEST_PASSWORD): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${sys.url}/console/`);
  await page.getByLabel(/用户名|Username/).fill(username);
  await page.getByLabel(/密码|Password/).fill(password);
  await page.getByRole('button', { name: /登录|Log in/ }).click();
  await page.locator('main[aria-busy="false"]').waitFor();
  return page;
}

const noStackTrace = async (page: Page) => expect(await page.locator('body').innerText()).not.toMatch(/\bat \S+ \(|Error:|stack|undefined|\[object/);

/** Reload until `ready` holds (the workflow writes the read model a moment after the action). */
async function reloadUntil(page: Page, ready: () => Promise<boolean>, what: string): Promise<void> {
  await eventually(async () => {
    await page.reload();
    await page.locator('main[aria-busy="false"]').waitFor({ timeout: 5000 });
    return ready();
  }, { accept: (ok: boolean) => ok, what, timeoutMs: 20_000 });
}

describe('一人一策 for staff', () => {
  it('a form with bad input names each field in Chinese, and no plan is opened', async () => {
    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(ctx, staff.username);
    await page.getByRole('link', { name: '一人一策' }).click();
    await page.getByRole('link', { name: '新建一人一策' }).click();
    await page.getByLabel('居民姓名').fill('孙爷爷');
    await page.getByLabel('联系电话').fill('13900004444');
    // No service ticked, no partner, and "late" after "missed".
    await page.getByLabel('超过多久算迟到', { exact: true }).fill('5');
    await page.getByLabel('超过多久算迟到 单位').selectOption({ label: '小时' });
    const answer = page.waitForResponse((r) => r.url().endsWith('/v1/care-plans') && r.request().method() === 'POST');
    await page.getByRole('button', { name: '建立计划' }).click();
    expect((await answer).status()).toBe(400);
    const alert = page.getByRole('alert');
    await alert.getByText('请检查以下内容：').waitFor();
    const text = await alert.innerText();
    for (const line of ['服务项目: 请至少选择一项', '共建单位: 必填']) expect(text).toContain(line);
    await noStackTrace(page);
    expect((await sys.call('GET', '/v1/cases?type=care_plan', { key: staffKey })).body.items).toEqual([]);

    // The schedule's own rule: late must come before missed.
    await page.getByLabel('康复按摩').check();
    await page.getByLabel('共建单位').selectOption({ label: '夕阳红养老服务中心' });
    const again = page.waitForResponse((r) => r.url().endsWith('/v1/care-plans') && r.request().method() === 'POST');
    await page.getByRole('button', { name: '建立计划' }).click();
    expect((await again).status()).toBe(400);
    await page.getByRole('alert').getByText('超过多久算迟到: 迟到时限必须短于未上门时限').waitFor();
    await noStackTrace(page);
    expect((await sys.call('GET', '/v1/cases?type=care_plan', { key: staffKey })).body.items).toEqual([]);
    await ctx.close();
  });

  it('the grid leader opens a plan for 张奶奶, sees its first visit and the installation request, and cancels the visit', async () => {
    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(ctx, staff.username);
    await page.getByRole('link', { name: '一人一策' }).click();
    await page.getByRole('heading', { name: '一人一策（居家照护计划）' }).waitFor();
    await page.getByRole('link', { name: '新建一人一策' }).click();
    await page.getByLabel('居民姓名').fill('张奶奶');
    await page.getByLabel('联系电话').fill('13900001111');
    await page.getByLabel('地址').fill('5号楼1单元302');
    await page.getByLabel('康复按摩').check();
    await page.getByLabel('健康监测').check();
    await page.getByLabel('共建单位').selectOption({ label: '夕阳红养老服务中心' });
    // The first visit: tomorrow 09:00 Beijing time, weekly, an hour each (the form's defaults, said in Chinese).
    const firstAt = await page.getByLabel('首次上门时间').inputValue();
    expect(firstAt).toMatch(/^\d{4}-\d{2}-\d{2}T09:00$/);
    expect(await page.getByLabel('上门间隔', { exact: true }).inputValue()).toBe('7');
    await page.getByLabel('防跌倒扶手', { exact: true }).check();
    await page.getByLabel('防跌倒扶手 说明').fill('卫生间马桶旁');
    await shot(page, 'new-care-plan');
    await page.getByRole('button', { name: '建立计划' }).click();
    await page.waitForURL(/#\/care-plan\//);
    const id = decodeURIComponent(/#\/care-plan\/([^?]+)/.exec(page.url())![1]);

    // The workflow schedules the first visit at once and opens the installation's request; the page shows them on a reload.
    const first = await eventually(async () => (await sys.call('GET', `/v1/care-plans/${id}/visits`, { key: staffKey })).body.items[0], { what: 'the first visit' });
    const visitRow = () => page.locator(`tr[data-visit="${first.visitId}"]`);
    await reloadUntil(page, async () => (await visitRow().count()) > 0 && (await page.locator('a[href^="#/case/"]').count()) > 0
      && (await page.locator('.timeline').innerText()).includes('社区工作者 建立了照护计划'), 'the first visit, the installation request and the timeline');
    expect(await visitRow().innerText()).toContain('待上门');
    expect(await visitRow().innerText()).toContain('09:00');
    const facts = await page.locator('.facts').innerText();
    for (const s of ['张奶奶', '夕阳红养老服务中心', '康复按摩、健康监测', '每 7 天 一次，每次 1 小时']) expect(facts).toContain(s);
    await shot(page, 'care-plan');

    // A reason is required: the API names it.
    await visitRow().getByRole('button', { name: '取消本次上门' }).click();
    await visitRow().getByRole('alert').getByText('原因: 必填').waitFor();
    await visitRow().getByLabel('原因').fill('老人住院');
    await visitRow().getByRole('button', { name: '取消本次上门' }).click();
    await visitRow().getByText('已提交，谢谢！').waitFor();
    await reloadUntil(page, async () => (await visitRow().innerText()).includes('已取消')
      && (await page.locator('.timeline').innerText()).includes('社区工作者 取消了一次上门：老人住院'), 'the cancelled visit in the table and the timeline');
    expect(await visitRow().innerText()).toContain('老人住院');
    const visits = (await sys.call('GET', `/v1/care-plans/${id}/visits`, { key: staffKey })).body.items as { visitId: string }[];
    expect(visits.find((v) => v.visitId === first.visitId)).toMatchObject({ status: 'cancelled', cancelReason: '老人住院' });
    const plan = (await sys.call('GET', `/v1/care-plans/${id}`, { key: staffKey })).body;
    expect(plan).toMatchObject({ status: 'active', services: ['rehab_massage', 'health_monitoring'], visits: { cancelled: 1, missed: 0 } });
    expect(plan.installations).toMatchObject([{ item: 'anti_fall_handrail', note: '卫生间马桶旁' }]);

    // The list shows the plan with the resident's name.
    await page.getByRole('link', { name: '一人一策' }).click();
    await page.locator(`tr[data-plan="${id}"]`).getByRole('link', { name: '张奶奶' }).waitFor();

    // Pause with a reason, then resume.
    await page.goto(`${sys.url}/console/#/care-plan/${encodeURIComponent(id)}`);
    const pause = page.locator('form[data-action="pause"]');
    await pause.getByLabel('原因').fill('老人住院两周');
    await pause.getByRole('button', { name: '暂停计划' }).click();
    await page.getByRole('heading', { name: /已暂停/ }).waitFor();
    await page.getByRole('button', { name: '恢复计划' }).click();
    await page.getByRole('heading', { name: /执行中/ }).waitFor();
    expect((await sys.call('GET', `/v1/care-plans/${id}`, { key: staffKey })).body.status).toBe('active');

    // 调整计划: every two weeks from now on (PATCH sends only that field); then 结束计划.
    const change = page.getByTestId('change-plan');
    await change.getByLabel('上门间隔', { exact: true }).fill('14');
    await change.getByRole('button', { name: '保存调整' }).click();
    await page.locator('.facts').getByText('每 14 天 一次，每次 1 小时', { exact: false }).waitFor();
    expect((await sys.call('GET', `/v1/care-plans/${id}`, { key: staffKey })).body.schedule).toMatchObject({ every: 'P14D', visitLength: 'PT1H' });
    const end = page.locator('form[data-action="end"]');
    await end.getByLabel('原因').fill('老人搬去子女家');
    await end.getByRole('button', { name: '结束计划' }).click();
    // Ended before any visit happened: cancelled (docs/care-plans.md); no staff actions are left.
    await page.getByRole('heading', { name: /已撤销/ }).waitFor();
    expect(await page.getByRole('button', { name: '结束计划' }).count()).toBe(0);
    expect((await sys.call('GET', `/v1/care-plans/${id}`, { key: staffKey })).body).toMatchObject({ status: 'cancelled', endReason: '老人搬去子女家' });
    await ctx.close();
  }, 90_000);
});

it('the carer\'s account checks a visit in and out from 我的工单 on a phone', async () => {
  const created = await sys.call('POST', '/v1/care-plans', {
    key: staffKey, body: {
      resident: { name: '刘爷爷', phone: '13900002222', community: sys.community, address: '7号楼302' },
      partnerId: carers.id, services: ['daily_care'],
      // Check-in opens lateAfter before the visit is due: at once.
      schedule: { firstVisitAt: new Date(Date.now() + 5000).toISOString(), every: 'PT1H', visitLength: 'PT1S', lateAfter: 'PT30S', missedAfter: 'PT60S' },
    },
  });
  expect(created.status).toBe(201);
  const planId = created.body.id as string;
  await eventually(async () => (await sys.call('GET', '/v1/partners/me/visits', { key: carers.key })).body.items, {
    accept: (items: { planId: string }[]) => items.some((v) => v.planId === planId), what: 'the visit in the roster',
  });
  const carer = await createUser(sys, 'partner', { displayName: '李护工', partnerId: carers.id });
  const ctx = await browser.context(PHONE);
  const page = await logIn(ctx, carer.username);
  await page.getByRole('heading', { name: '我的工单' }).waitFor();
  await page.getByRole('heading', { name: '上门服务（一人一策）' }).waitFor();
  const card = page.locator('article.visit', { hasText: '刘爷爷' });
  await card.getByText('生活照料').waitFor();
  expect(await card.getByRole('button', { name: '签退' }).count()).toBe(0);
  // No carer's name: the page says which field, in Chinese.
  await card.getByRole('button', { name: '签到' }).tap();
  await card.getByRole('alert').getByText('服务人员: 必填').waitFor();
  await card.getByLabel('服务人员姓名').fill('李护工');
  await card.getByRole('button', { name: '签到' }).tap();
  const checkedIn = page.locator('article.visit', { hasText: '刘爷爷' });
  await checkedIn.getByText('已签到，请开始服务。').first().waitFor();
  await checkedIn.getByRole('button', { name: '签退' }).waitFor();
  expect(await checkedIn.getByRole('button', { name: '签到' }).count()).toBe(0);
  await shot(page, 'my-visits-phone');
  await checkedIn.getByRole('button', { name: '签退' }).tap();
  await checkedIn.getByText('已签退，感谢您的服务！').waitFor();
  expect(await checkedIn.getByRole('button', { name: '签退' }).count()).toBe(0);
  const plan = (await sys.call('GET', `/v1/care-plans/${planId}`, { key: staffKey })).body;
  expect(plan.visits.completed).toBe(1);
  expect(plan.hoursTotal).toBeGreaterThan(0);
  const visit = await eventually(async () => (await sys.call('GET', `/v1/care-plans/${planId}/visits?status=completed`, { key: staffKey })).body.items[0], { what: 'the completed visit in the read model' });
  expect(visit).toMatchObject({ carer: '李护工', services: ['daily_care'] });
  await ctx.close();
}, 90_000);

it('the window staff supplements the missing documents (补正) and records the delivery', async () => {
  for (const d of ['tax', 'housing', 'natural_resources']) {
    await sys.createPartner({ name: `辽源市${d}`, kind: 'department', department: d, categories: [], communities: [sys.community], webhookUrl: sim.url, webhookSecret: sim.secret });
  }
  const opened = await sys.call('POST', '/v1/registrations', {
    key: staffKey, body: {
      applicants: [{ name: '钱先生', idNumber: '220102198001011234', phone: '13500003333' }], property: { address: '辽源市龙山区向阳街12号' },
      businessType: 'transfer', documents: ['applicant_id', 'property_certificate'], delivery: 'window', community: sys.community,
    },
  });
  expect(opened.status).toBe(201);
  const id = opened.body.id as string;
  const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
  const page = await logIn(ctx, staff.username);
  await page.goto(`${sys.url}/console/#/case/${id}`);
  await page.getByTestId('missing-documents').getByText('不动产买卖合同、完税凭证').waitFor();
  const supplement = page.getByTestId('supplement');
  // Nothing ticked: the API refuses, the page says so.
  await supplement.getByRole('button', { name: '补正材料' }).click();
  await page.getByRole('alert').getByText('已交材料: 请至少选择一项').waitFor();
  await noStackTrace(page);
  await supplement.getByLabel('不动产买卖合同').check();
  await supplement.getByLabel('完税凭证').check();
  await shot(page, 'registration-supplement');
  await supplement.getByRole('button', { name: '补正材料' }).click();
  await page.getByText('部门审核中').first().waitFor();
  await reloadUntil(page, async () => (await page.locator('.timeline').innerText()).includes('已补正材料'), 'the supplement in the timeline');

  // The three departments approve (their partner keys, through the API); the certificate is issued.
  const keys = await Promise.all(['tax', 'housing', 'natural_resources'].map(async (d) => {
    const r = await eventually(async () => (await sys.call('GET', `/v1/registrations/${id}`, { key: staffKey })).body.reviews?.[d], { accept: (v: any) => v?.status === 'pending' && !!v.partnerId, what: `the ${d} review` });
    return { d, key: await sys.createKey('partner', { partnerId: r.partnerId }) };
  }));
  for (const { d, key } of keys) expect((await sys.call('POST', `/v1/registrations/${id}/reviews/${d}`, { key, body: { approved: true } })).status).toBe(200);
  await eventually(async () => (await sys.call('GET', `/v1/registrations/${id}`, { key: staffKey })).body.status, { accept: (s: string) => s === 'awaiting_delivery', what: 'the certificate' });
  await page.reload();
  const delivered = page.getByTestId('delivered');
  await delivered.getByLabel('说明').fill('申请人本人窗口领取');
  await delivered.getByRole('button', { name: '确认已送达' }).click();
  await page.getByText('待评价').first().waitFor();
  const after = (await sys.call('GET', `/v1/registrations/${id}`, { key: staffKey })).body;
  expect(after).toMatchObject({ status: 'awaiting_survey', delivered: { method: 'window', note: '申请人本人窗口领取' } });
  expect(await page.locator('.facts').innerText()).toContain(after.certificateNo);
  await ctx.close();
}, 90_000);

it('an admin edits a partner: a bad capacity is named, then the change is saved', async () => {
  const admin = await createUser(sys, 'admin', { displayName: '管理员' });
  const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
  const page = await logIn(ctx, admin.username);
  await page.getByRole('link', { name: '共建单位' }).click();
  await page.locator(`tr[data-partner="${carers.id}"]`).getByRole('link', { name: '编辑' }).click();
  const form = page.getByTestId('partner-form');
  await form.getByRole('heading', { name: '编辑共建单位 · 夕阳红养老服务中心' }).waitFor();
  await form.getByLabel('承接能力').fill('-1');
  await form.getByRole('button', { name: '保存' }).click();
  await page.getByRole('alert').getByText('承接能力: 不能小于 0').waitFor();
  await noStackTrace(page);
  expect((await sys.call('GET', `/v1/partners/${carers.id}`)).body.capacity).toBe(20);
  await form.getByLabel('承接能力').fill('35');
  await form.getByLabel('服务时间').fill('每天 8:00-18:00');
  await form.getByLabel('食', { exact: true }).check();
  await form.getByRole('button', { name: '保存' }).click();
  await page.getByText('已保存。').waitFor();
  await shot(page, 'partner-edit');
  const saved = (await sys.call('GET', `/v1/partners/${carers.id}`)).body;
  expect(saved).toMatchObject({ name: '夕阳红养老服务中心', capacity: 35, hours: '每天 8:00-18:00', communities: [sys.community], active: true });
  expect([...saved.categories].sort()).toEqual(['food', 'medical']);
  await page.getByRole('link', { name: '共建单位' }).first().click();
  expect(await page.locator(`tr[data-partner="${carers.id}"]`).innerText()).toContain('35');
  await ctx.close();
});

it('a supervisor sets an SLA policy in words (2 小时), and a bad one is named', async () => {
  const supervisor = await createUser(sys, 'supervisor', { displayName: '张书记' });
  const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
  const page = await logIn(ctx, supervisor.username);
  await page.getByRole('link', { name: '时限规则' }).click();
  const form = page.getByTestId('sla-form');
  // Nothing filled in: the API refuses, the page says to fill in one.
  await form.getByRole('button', { name: '保存规则' }).click();
  await page.getByRole('alert').getByText('请至少填写一项').waitFor();
  await noStackTrace(page);
  await form.getByLabel('服务类别').selectOption({ label: '文化娱乐' });
  await form.getByLabel('接单时限', { exact: true }).fill('2');
  await form.getByLabel('接单时限 单位').selectOption({ label: '小时' });
  await form.getByRole('button', { name: '保存规则' }).click();
  await page.getByText('规则已保存。').waitFor();
  const stored = (await sys.call('GET', '/v1/sla-policies')).body.items as Record<string, unknown>[];
  expect(stored).toContainEqual(expect.objectContaining({ caseType: 'service_request', category: 'culture', ackTimeout: 'PT2H' }));
  await page.getByTestId('sla-stored').locator('tr', { hasText: '文化娱乐' }).getByText('2 小时').waitFor();
  await ctx.close();
});

it('a person changes its own password: a wrong current one is named, the new one logs in', async () => {
  const user = await createUser(sys, 'staff', { displayName: '赵社工', communities: [sys.community] });
  const ctx = await browser.context();
  const page = await logIn(ctx, user.username);
  await page.getByRole('link', { name: '修改密码' }).click();
  await page.getByLabel('当前密码').fill('not-the-password');
  await page.getByLabel('新密码（至少 10 个字符）').fill('a new password 2026');
  await page.getByLabel('再次输入新密码').fill('a new password 2026');
  await page.getByRole('button', { name: '修改密码' }).click();
  await page.getByRole('alert').getByText('当前密码: 与当前密码不符').waitFor();
  await noStackTrace(page);
  await page.getByLabel('当前密码').fill(TEST_PASSWORD);
  await page.getByLabel('新密码（至少 10 个字符）').fill('a new password 2026');
  await page.getByLabel('再次输入新密码').fill('a new password 2026');
  await page.getByRole('button', { name: '修改密码' }).click();
  await page.getByText('密码已修改，其他设备上的登录已退出。').waitFor();
  // This session goes on; a new login needs the new password.
  await page.getByRole('link', { name: '案件列表' }).click();
  await page.getByRole('heading', { name: '案件列表' }).waitFor();
  expect((await sys.call('POST', '/v1/session', { key: '', body: { username: user.username, password: TEST_PASSWORD } })).status).toBe(401);
  expect((await sys.call('POST', '/v1/session', { key: '', body: { username: user.username, password: 'a new password 2026' } })).status).toBe(200);
  await ctx.close();
});

it('switching to English leaves no Chinese label on the new pages', async () => {
  const supervisor = await createUser(sys, 'supervisor', { displayName: '张书记' });
  const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${sys.url}/console/?lang=en`);
  await page.getByLabel('Username').fill(supervisor.username);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const plans = (await sys.call('GET', '/v1/cases?type=care_plan', { key: staffKey })).body.items as { id: string }[];
  const cjk = /[\u3400-\u9fff]/;
  for (const hash of ['#/care-plans', '#/new-care-plan', `#/care-plan/${plans[0].id}`, `#/partner/${carers.id}`, '#/partner/new', '#/sla', '#/password']) {
    await page.goto(`${sys.url}/console/${hash}`);
    await page.locator('main[aria-busy="false"]').waitFor();
    const labels = await page.locator('label, button, th, h1, h2, nav a, legend, caption, summary, dt').allInnerTexts();
    const chinese = labels.filter((l) => cjk.test(l) && !/夕阳红|张奶奶|刘爷爷|社区-|中文/.test(l));
    expect({ hash, chinese }).toEqual({ hash, chinese: [] });
  }
  await ctx.close();
});
