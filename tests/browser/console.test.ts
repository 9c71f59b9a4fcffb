/**
 * The console in real Chromium: the stories of the people in the report, then bad input.
 * Screenshots of the main pages go to docs/img/ when UPDATE_SCREENSHOTS=1.
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
let repairs: { id: string; key: string };
let staff: { username: string };
let supervisor: { id: string; username: string };

beforeAll(async () => {
  sys = await startTestSystem();
  browser = await launchBrowser();
  sim = await startPartnerSimulator();
  repairs = await sys.createPartner({ name: '南湖物业维修队', categories: ['housing'], capacity: 20, webhookUrl: sim.url, webhookSecret: sim.secret });
  staff = await createUser(sys, 'staff', { displayName: '王网格长', communities: [sys.community], escalationLevel: 1 });
  supervisor = await createUser(sys, 'supervisor', { displayName: '张书记', escalationLevel: 2 });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await sys?.stop();
});
afterEach(() => {
  // No script error and no CSP violation on any page of any story.
  expect(browser.problems).toEqual([]);
});

async function logIn(ctx: BrowserContext, username: string, password = TEST_PASSWORD, path = '/console/'): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${sys.url}${path}`);
  await page.getByLabel(/用户名|Username/).fill(username);
  await page.getByLabel(/密码|Password/).fill(password);
  await page.getByRole('button', { name: /登录|Log in/ }).click();
  return page;
}

const cjk = /[\u3400-\u9fff]/;

describe('stories', () => {
  let caseId: string;

  it('the grid leader logs in, opens a case for 李奶奶 and sees it dispatched', async () => {
    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${sys.url}/console/`);
    await shot(page, 'login');
    await page.getByLabel('用户名').fill(staff.username);
    await page.getByLabel('密码').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '案件列表' }).waitFor();
    await page.getByRole('link', { name: '新建诉求' }).click();
    await page.getByLabel('居民姓名').fill('李奶奶');
    await page.getByLabel('联系电话').fill('13800001111');
    await page.getByLabel('小区').fill('幸福里');
    await page.getByLabel('独居老人').check();
    await page.getByLabel('服务类别').selectOption({ label: '住' });
    await page.getByLabel('紧急程度').selectOption({ label: '紧急' });
    await page.getByLabel('受理渠道').selectOption({ label: '入户走访' });
    await page.getByLabel('诉求描述').fill('家里停电了，灯不亮');
    await shot(page, 'new-request');
    await page.getByRole('button', { name: '提交' }).click();
    await page.waitForURL(/#\/case\//);
    caseId = /#\/case\/([^?]+)/.exec(page.url())![1];
    // The workflow dispatches it; the page shows it on a reload.
    await eventually(async () => {
      await page.reload();
      await page.locator('main[aria-busy="false"]').waitFor({ timeout: 5000 });
      return page.locator('.timeline').innerText({ timeout: 1000 });
    }, { accept: (text: string) => text.includes('派单给 南湖物业维修队'), what: 'the dispatch in the timeline', timeoutMs: 20_000 });
    await page.getByText('已派单待接单').first().waitFor();
    expect(await page.getByTestId('order-link').inputValue()).toMatch(/\/p\/[A-Za-z0-9_-]{43}$/);
    expect(await page.locator('.timeline').innerText()).toContain('社区工作者 受理了诉求');
    await shot(page, 'case');
    await page.getByRole('link', { name: '案件列表' }).click();
    await page.getByRole('link', { name: '住' }).first().waitFor();
    await shot(page, 'cases');
    await ctx.close();
  });

  it('the partner opens the order link on a phone and taps 接单, then 完成', async () => {
    const staffView = await sys.call('GET', `/v1/service-requests/${caseId}`);
    const link = staffView.body.orderLink as string;
    expect(link.startsWith(sys.url)).toBe(true);
    const ctx = await browser.context(PHONE);
    const page = await ctx.newPage();
    await page.goto(link);
    await page.getByText('家里停电了，灯不亮').waitFor();
    await page.getByText('李奶奶').waitFor();
    await shot(page, 'order-link-phone');
    await page.getByRole('button', { name: '接单' }).tap();
    await page.getByText('已接单，请尽快上门服务。').waitFor();
    await page.getByRole('button', { name: '完成' }).waitFor();
    await page.getByLabel('完成情况说明').fill('换了保险丝，已恢复供电');
    await page.getByRole('button', { name: '完成' }).tap();
    await page.getByText('已完成，感谢您的服务！').waitFor();
    expect(await page.getByRole('button', { name: '完成' }).count()).toBe(0);
    const after = await sys.call('GET', `/v1/service-requests/${caseId}`);
    expect(after.body.status).toBe('awaiting_follow_up');
    expect(after.body.completion.note).toBe('换了保险丝，已恢复供电');
    await ctx.close();
  });

  it('the grid leader records the follow-up visit and the survey, and the case closes', async () => {
    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(ctx, staff.username);
    await page.getByRole('heading', { name: '案件列表' }).waitFor();
    await page.goto(`${sys.url}/console/#/case/${caseId}`);
    await page.getByText('待回访').first().waitFor();
    await page.getByLabel('说明').fill('电话回访，灯已经亮了');
    await page.getByRole('button', { name: '记录回访' }).click();
    await page.getByText('待评价').first().waitFor();
    await page.getByLabel('满意度（1-5）').selectOption('5');
    await page.getByRole('button', { name: '记录满意度' }).click();
    await page.getByText('已办结').first().waitFor();
    const story = await page.locator('.timeline').innerText();
    for (const line of ['南湖物业维修队 已接单', '南湖物业维修队 已完成：换了保险丝，已恢复供电', '社区工作者 回访：电话回访，灯已经亮了', '居民评价 5 分']) expect(story).toContain(line);
    await shot(page, 'case-closed');
    expect((await sys.call('GET', `/v1/service-requests/${caseId}`)).body).toMatchObject({ status: 'closed', outcome: 'satisfied' });
    await ctx.close();
  });

  it('a partner with an account takes its orders from 我的工单 on a phone', async () => {
    const opened = await sys.call('POST', '/v1/service-requests', { key: await sys.createKey('staff'), body: { resident: { name: '周阿姨', phone: '13500002222', community: sys.community }, category: 'housing', description: '水龙头漏水', urgency: 'normal', channel: 'walk_in' } });
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${opened.body.id}`)).body.status, { accept: (st: string) => st === 'awaiting_ack', what: 'dispatch' });
    const steward = await createUser(sys, 'partner', { displayName: '物业张师傅', partnerId: repairs.id });
    const ctx = await browser.context(PHONE);
    const page = await logIn(ctx, steward.username);
    await page.getByRole('heading', { name: '我的工单' }).waitFor();
    const order = page.locator('article', { hasText: '水龙头漏水' });
    await order.getByRole('button', { name: '接单' }).tap();
    await page.locator('article', { hasText: '水龙头漏水' }).getByRole('button', { name: '完成' }).waitFor();
    await shot(page, 'my-orders-phone');
    await page.locator('article', { hasText: '水龙头漏水' }).getByLabel('完成情况说明').fill('换了阀芯');
    await page.locator('article', { hasText: '水龙头漏水' }).getByRole('button', { name: '完成' }).tap();
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${opened.body.id}`)).body.status, { accept: (st: string) => st === 'awaiting_follow_up', what: 'completion' });
    await ctx.close();
  });

  it('the supervisor sees the escalated case on the dashboard, assigns it, and the chart counts it', async () => {
    // Nobody serves medical needs in this community yet: the case escalates at once.
    const opened = await sys.call('POST', '/v1/service-requests', { key: await sys.createKey('staff'), body: { resident: { name: '赵大爷', phone: '13900002222', community: sys.community }, category: 'medical', description: '需要陪同就医', urgency: 'urgent', channel: 'phone' } });
    const escalatedId = opened.body.id as string;
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${escalatedId}`)).body.status, { accept: (s: string) => s === 'escalated', what: 'escalation' });
    const clinic = await sys.createPartner({ name: '南湖社区卫生服务站', kind: 'co_building_unit', categories: ['medical'], capacity: 10, webhookUrl: sim.url, webhookSecret: sim.secret });

    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(ctx, supervisor.username);
    await page.getByRole('heading', { name: '待办看板' }).waitFor();
    const item = page.locator(`li[data-case="${escalatedId}"]`);
    await item.waitFor();
    await shot(page, 'dashboard');
    await item.getByLabel('共建单位').selectOption({ label: '南湖社区卫生服务站' });
    await item.getByRole('button', { name: '指派' }).click();
    await item.getByText('已提交，谢谢！').waitFor();
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${escalatedId}`)).body, { accept: (c: { status: string; assignedPartnerId: string }) => c.status === 'in_progress' && c.assignedPartnerId === clinic.id, what: 'assignment' });
    await page.locator(`li[data-case="${escalatedId}"]`).waitFor({ state: 'detached' });

    await eventually(async () => (await sys.call('GET', '/v1/reports/summary?groupBy=partner')).body.groups, { accept: (g: { key: string }[]) => g.some((x) => x.key === clinic.id), what: 'the read model' });
    await page.getByRole('link', { name: '统计报表' }).click();
    await page.getByLabel('分组').selectOption({ label: '按共建单位' });
    const table = page.getByTestId('chart-0');
    await table.locator('tr', { hasText: '南湖社区卫生服务站' }).waitFor({ state: 'attached' });
    expect(await table.locator('tr', { hasText: '南湖社区卫生服务站' }).locator('td').first().textContent()).toBe('1');
    await page.locator('canvas').first().waitFor();
    await page.waitForTimeout(600); // charts animate in; only for the screenshot
    await shot(page, 'reports');
    await ctx.close();
  });

  it('the supervisor acknowledges an escalation from the case page (处理督办) and it shows acknowledged', async () => {
    // Nobody serves hardship cases here: escalated at once, an open level-1 escalation.
    const opened = await sys.call('POST', '/v1/service-requests', { key: await sys.createKey('staff'), body: { resident: { name: '钱奶奶', phone: '13900003333', community: sys.community }, category: 'hardship', description: '独居困难', urgency: 'normal', channel: 'phone' } });
    const id = opened.body.id as string;
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${id}`)).body.escalation, { accept: (e: { level: number } | null) => e?.level === 1, what: 'the escalation' });

    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(ctx, supervisor.username);
    await page.getByRole('heading', { name: '待办看板' }).waitFor();
    await page.goto(`${sys.url}/console/#/case/${id}`);
    await page.getByTestId('escalation').getByText('督办中').waitFor();
    const form = page.getByTestId('acknowledge');
    await form.getByLabel('说明').fill('社区书记接手处理');
    await form.getByRole('button', { name: '处理督办' }).click();
    await page.getByText('已提交，谢谢！').waitFor();
    await page.getByTestId('escalation').getByText('已接手').waitFor();
    expect(await page.getByRole('button', { name: '处理督办' }).count()).toBe(0);
    const escalation = (await sys.call('GET', `/v1/service-requests/${id}`)).body.escalation;
    expect(escalation).toMatchObject({ level: 1, acknowledgedBy: `supervisor:user:${supervisor.id}` });
    await ctx.close();
  });

  it('switching to English changes every label, and the choice is remembered', async () => {
    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${sys.url}/console/`);
    await page.getByRole('button', { name: '登录' }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.getByLabel('Username').fill(supervisor.username);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const labels = async () => page.locator('label, button, th, h1, h2, nav a, legend, caption, summary').allInnerTexts();
    for (const hash of ['#/dashboard', '#/cases', '#/new-request', '#/partners', '#/sla']) {
      await page.goto(`${sys.url}/console/${hash}`);
      await page.locator('main[aria-busy="false"]').waitFor();
      const chinese = (await labels()).filter((l) => cjk.test(l) && !/南湖|社区-|中文/.test(l));
      expect({ hash, chinese }).toEqual({ hash, chinese: [] });
      if (hash === '#/dashboard') await shot(page, 'dashboard-en');
    }
    // A new tab of the same browser remembers English; ?lang=zh-CN switches back.
    const again = await ctx.newPage();
    await again.goto(`${sys.url}/console/#/cases`);
    await again.getByRole('button', { name: 'Log out' }).waitFor();
    await again.goto(`${sys.url}/console/?lang=zh-CN#/cases`);
    await again.getByRole('button', { name: '退出' }).waitFor();
    await ctx.close();
  });

  it('an English browser (Accept-Language) starts in English', async () => {
    const ctx = await browser.context({ locale: 'en-US' });
    const page = await ctx.newPage();
    await page.goto(`${sys.url}/console/`);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await ctx.close();
  });
});

describe('bad input: a clear message on the page, nothing stored, no stack trace', () => {
  const noStackTrace = async (page: Page) => expect(await page.locator('body').innerText()).not.toMatch(/\bat \S+ \(|Error:|stack|undefined|\[object/);

  it('a wrong password says so and logs nobody in', async () => {
    const ctx = await browser.context();
    const page = await logIn(ctx, staff.username, 'not-the-password');
    await page.getByRole('alert').getByText('用户名或密码错误。').waitFor();
    await shot(page, 'login-wrong-password');
    await noStackTrace(page);
    expect((await ctx.cookies()).find((c) => c.name === 'gj_session')).toBeUndefined();
    await ctx.close();
  });

  it('a forged session shows the login page; a session ended elsewhere says so at the next action', async () => {
    const ctx = await browser.context();
    await ctx.addCookies([{ name: 'gj_session', value: 'forged-forged-forged', url: sys.url }]);
    const page = await ctx.newPage();
    await page.goto(`${sys.url}/console/#/cases`);
    await page.getByRole('button', { name: '登录' }).waitFor();
    await ctx.close();

    const ctx2 = await browser.context();
    const p2 = await logIn(ctx2, staff.username);
    await p2.getByRole('heading', { name: '案件列表' }).waitFor();
    const cookie = (await ctx2.cookies()).find((c) => c.name === 'gj_session')!;
    // Logged out from another tab (the cookie is the same): the next click is told to log in again.
    const me = await sys.call('GET', '/v1/session', { key: '', headers: { cookie: `gj_session=${cookie.value}` } });
    await sys.call('DELETE', '/v1/session', { key: '', headers: { cookie: `gj_session=${cookie.value}`, 'x-csrf-token': me.body.csrfToken } });
    await p2.getByRole('link', { name: '新建诉求' }).click();
    await p2.getByLabel('居民姓名').fill('孙大爷');
    await p2.getByRole('button', { name: '提交' }).click();
    await p2.getByRole('alert').getByText('登录已失效，请重新登录。').first().waitFor();
    await p2.getByRole('button', { name: '登录' }).waitFor();
    await noStackTrace(p2);
    await ctx2.close();
  });

  it('a change without the session\'s CSRF token is refused (403) and the page says to reload', async () => {
    const ctx = await browser.context();
    const page = await logIn(ctx, staff.username);
    await page.getByRole('heading', { name: '案件列表' }).waitFor();
    await page.getByRole('link', { name: '新建诉求' }).click();
    await page.getByLabel('居民姓名').waitFor();
    // Another tab logs in as someone else: the shared cookie now names a session whose CSRF token this page does not hold.
    const other = await ctx.request.post(`${sys.url}/v1/session`, { data: { username: supervisor.username, password: TEST_PASSWORD } });
    expect(other.status()).toBe(200);
    const before = (await sys.call('GET', '/v1/cases?limit=500')).body.items.length;
    await page.getByLabel('居民姓名').fill('钱阿姨');
    await page.getByLabel('联系电话').fill('13700003333');
    await page.getByLabel('服务类别').selectOption({ label: '食' });
    await page.getByLabel('诉求描述').fill('送餐');
    const answer = page.waitForResponse((r) => r.url().endsWith('/v1/service-requests') && r.request().method() === 'POST');
    await page.getByRole('button', { name: '提交' }).click();
    expect((await answer).status()).toBe(403);
    await page.getByRole('alert').getByText('页面已过期，请刷新后重试。').waitFor();
    await noStackTrace(page);
    expect((await sys.call('GET', '/v1/cases?limit=500')).body.items.length).toBe(before);
    await ctx.close();
  });

  it('a dead order link says it no longer works', async () => {
    const ctx = await browser.context(PHONE);
    const page = await ctx.newPage();
    const res = page.waitForResponse((r) => r.url().includes('/v1/order-links/'));
    await page.goto(`${sys.url}/p/${'Q'.repeat(43)}`);
    expect((await res).status()).toBe(404);
    await page.getByRole('alert').getByText('该工单链接已失效：工单已被处理、转派或已过期。').waitFor();
    await shot(page, 'order-link-dead');
    await noStackTrace(page);
    await ctx.close();
  });

  it('a form with missing fields names them, and nothing is stored', async () => {
    const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
    const page = await logIn(ctx, staff.username);
    await page.getByRole('heading', { name: '案件列表' }).waitFor();
    const before = (await sys.call('GET', '/v1/cases?limit=500')).body.items.length;
    await page.getByRole('link', { name: '新建诉求' }).click();
    await page.getByLabel('联系电话').fill('13600004444');
    const answer = page.waitForResponse((r) => r.url().endsWith('/v1/service-requests'));
    await page.getByRole('button', { name: '提交' }).click();
    expect((await answer).status()).toBe(400);
    const alert = page.getByRole('alert');
    await alert.getByText('请检查以下内容：').waitFor();
    const text = await alert.innerText();
    for (const label of ['居民姓名: 必填', '服务类别: 请选择一项', '诉求描述: 必填']) expect(text).toContain(label);
    await shot(page, 'new-request-missing-fields');
    await noStackTrace(page);
    expect((await sys.call('GET', '/v1/cases?limit=500')).body.items.length).toBe(before);
    await ctx.close();
  });
});

it('serves the console under a strict Content-Security-Policy, bundled (no other origin)', async () => {
  const res = await fetch(`${sys.url}/console/`);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  const html = await res.text();
  expect(html).not.toMatch(/https?:\/\//);
  expect((await fetch(`${sys.url}/p/${'Q'.repeat(43)}`)).headers.get('cache-control')).toBe('no-store');
});
