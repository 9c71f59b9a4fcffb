/**
 * Tracking codes through the real system: every case type gets one at intake (the same one
 * on an idempotent repeat), GET /v1/track/{code} follows the case through its states, and no
 * answer (JSON or page) ever carries a string the resident or staff typed about them.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Pool } from 'pg';
import { issueTrackingCode, TrackingCodeWriter } from '../../src/db/trackingCodes';
import { resyncReadModel, serviceRequestWorkflowId } from '../../src/workflows/messages';
import { DEPARTMENTS } from '../../src/domain/vocabulary';
import { createLogger } from '../../src/logger';
import { eventually } from '../support/eventually';
import { startExtraApi } from '../support/extraApi';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
let sim: PartnerSimulator;
let partner: { id: string; key: string };
const uniq = () => randomUUID().slice(0, 6);

/** Every personal string of this file's cases: none may appear in any tracking answer. */
const secrets: string[] = [];
const secret = (s: string) => { secrets.push(s); return s; };

beforeAll(async () => {
  sys = await startTestSystem({ TRACK_RATE_LIMIT_PER_MINUTE: '0' });
  staff = await sys.createKey('staff');
  sim = await startPartnerSimulator();
  partner = await sys.createPartner({ name: '南湖物业服务中心', categories: ['housing'], communities: [sys.community], capacity: 50, webhookUrl: sim.url, webhookSecret: sim.secret });
  for (const d of DEPARTMENTS) {
    await sys.createPartner({ name: `辽源市${d}局`, kind: 'department', department: d, categories: [], communities: [sys.community], webhookUrl: sim.url, webhookSecret: sim.secret });
  }
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

function serviceRequest() {
  const u = uniq();
  return {
    resident: {
      name: secret(`赵秀英${u}`), phone: secret(`1390437${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`),
      community: sys.community, compound: secret(`幸福里小区${u}`), grid: secret(`第${u}网格`), address: secret(`龙山区向阳街${u}号`),
    },
    category: 'housing', description: secret(`卫生间漏水已三天${u}`), urgency: 'normal', channel: 'home_visit',
  };
}

/** The answer by code, with the privacy check on every one. */
async function track(code: string, headers: Record<string, string> = {}) {
  const res = await sys.call('GET', `/v1/track/${code}`, { key: '', headers });
  const text = JSON.stringify(res.body);
  for (const s of secrets) expect(text).not.toContain(s);
  return res;
}
const trackedStatus = (code: string, status: string) =>
  eventually(async () => (await track(code)).body, { accept: (b) => b?.status === status, what: `tracked status ${status}` });

const act = async (key: string, id: string, action: string, body: unknown) => {
  const res = await sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body });
  expect(res.status).toBe(200);
};

/** The test system's pool seen through a proxy that counts its statements. */
function countingPool(): { pool: Pool; statements: () => number } {
  let n = 0;
  const pool = new Proxy(sys.pool, {
    get: (target, prop) => (prop === 'query'
      ? (...args: unknown[]) => { n += 1; return (target.query as (...a: unknown[]) => unknown)(...args); }
      : Reflect.get(target, prop)),
  }) as Pool;
  return { pool, statements: () => n };
}

it('gives a service request a code of 12 unambiguous characters, and the same one on an idempotent repeat', async () => {
  const body = serviceRequest();
  const headers = { 'Idempotency-Key': `track-${uniq()}` };
  const first = await sys.call('POST', '/v1/service-requests', { key: staff, body, headers });
  expect(first.status).toBe(201);
  expect(first.body.trackingCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
  const again = await sys.call('POST', '/v1/service-requests', { key: staff, body, headers });
  expect(again.status).toBe(200);
  expect(again.body.trackingCode).toBe(first.body.trackingCode);
  const other = await sys.call('POST', '/v1/service-requests', { key: staff, body: serviceRequest() });
  expect(other.body.trackingCode).not.toBe(first.body.trackingCode);
});

it('issues the codes of intakes that ask together in one statement, a case asked twice keeping one code', async () => {
  const { pool: counted, statements } = countingPool();
  const ids = Array.from({ length: 40 }, () => randomUUID());
  const codes = await Promise.all([...ids, ...ids.slice(0, 10)].map((id) => issueTrackingCode(counted, id, 'service_request')));
  expect(statements()).toBe(1);
  expect(new Set(codes.slice(0, 40)).size).toBe(40);
  expect(codes.slice(40)).toEqual(codes.slice(0, 10));
  for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
  const { rows } = await sys.pool.query<{ case_id: string; code: string }>('SELECT case_id, code FROM tracking_codes WHERE case_id = ANY ($1::text[])', [ids]);
  expect(new Map(rows.map((r) => [r.case_id, r.code]))).toEqual(new Map(ids.map((id, i) => [id, codes[i]])));

  // Asked again (a repeated intake), one by one and while a statement is on its way: the same codes.
  const first = issueTrackingCode(counted, ids[0], 'service_request');
  const rest = ids.slice(1).map((id) => new Promise<string>((resolve, reject) => setImmediate(() => issueTrackingCode(counted, id, 'service_request').then(resolve, reject))));
  expect([await first, ...(await Promise.all(rest))]).toEqual(codes.slice(0, 40));
  expect(statements()).toBe(3);
});

it('writes the codes of new cases after the answer, many in one statement, a held code resolving at once', async () => {
  const { pool: counted, statements } = countingPool();
  const lines: string[] = [];
  const writer = new TrackingCodeWriter(counted, createLogger('info', 'test', new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } })));
  const rows = Array.from({ length: 30 }, (_, i) => ({ code: `TESTW${uniq().toUpperCase()}${i}`.slice(0, 12).padEnd(12, '0'), caseId: randomUUID(), caseType: 'service_request' }));
  for (const r of rows) writer.add(r);
  expect(rows.every((r) => writer.holds(r.code))).toBe(true);
  expect(statements()).toBe(0); // nothing on the caller's path
  await writer.flush();
  expect(statements()).toBe(1);
  expect(rows.some((r) => writer.holds(r.code))).toBe(false);
  const { rows: stored } = await sys.pool.query<{ case_id: string; code: string }>('SELECT case_id, code FROM tracking_codes WHERE case_id = ANY ($1::text[])', [rows.map((r) => r.caseId)]);
  expect(new Map(stored.map((r) => [r.case_id, r.code]))).toEqual(new Map(rows.map((r) => [r.caseId, r.code])));

  // A code stored already for its case (the worker's first batch came first) is fine; one another case holds is reported.
  const collision = { code: rows[0].code, caseId: randomUUID(), caseType: 'service_request' };
  writer.add(rows[1]);
  writer.add(collision);
  await writer.flush();
  expect(statements()).toBe(2);
  const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'tracking codes not stored: taken by another case');
  expect(errors.map((e) => e.cases)).toEqual([[collision.caseId]]);

  // Through the API: 12 intakes at once, each code looked up the moment its answer arrives.
  const opened = await Promise.all(Array.from({ length: 12 }, async () => {
    const res = await sys.call('POST', '/v1/service-requests', { key: staff, body: serviceRequest() });
    expect(res.status).toBe(201);
    return { res, tracked: await track(res.body.trackingCode) };
  }));
  for (const { res, tracked } of opened) {
    expect(tracked.status).toBe(200);
    expect(tracked.body.caseType).toBe('service_request');
    expect(res.body.trackingCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
  }
});

it('keeps a code handed out when its row is lost: the case\'s first read-model batch stores it again from the workflow memo', async () => {
  const body = serviceRequest();
  const headers = { 'Idempotency-Key': `lost-${uniq()}` };
  const opened = await sys.call('POST', '/v1/service-requests', { key: staff, body, headers });
  expect(opened.status).toBe(201);
  const { id, trackingCode: code } = opened.body;
  await trackedStatus(code, 'awaiting_ack');
  // As if the API had died before its write: the row is gone.
  await sys.pool.query('DELETE FROM tracking_codes WHERE case_id = $1', [id]);
  expect((await track(code)).status).toBe(404);
  // A repeat of the intake finds the code in the memo and stores that one, not a new one.
  const again = await sys.call('POST', '/v1/service-requests', { key: staff, body, headers });
  expect(again.status).toBe(200);
  expect(again.body.trackingCode).toBe(code);
  await sys.pool.query('DELETE FROM tracking_codes WHERE case_id = $1', [id]);
  // The worker's re-send of the timeline (what `npm run reconcile` asks for) carries the first event and the code.
  await sys.client.workflow.getHandle(serviceRequestWorkflowId(id)).signal(resyncReadModel);
  const back = await eventually(async () => track(code), { accept: (r) => r.status === 200, what: 'the code stored again' });
  expect(back.body.status).toBe('awaiting_ack');
  const { rows } = await sys.pool.query<{ code: string }>('SELECT code FROM tracking_codes WHERE case_id = $1', [id]);
  expect(rows.map((r) => r.code)).toEqual([code]);
});

it('follows a service request through every state without a resident string in any answer', async () => {
  const opened = await sys.call('POST', '/v1/service-requests', { key: staff, body: serviceRequest() });
  const { id, trackingCode: code } = opened.body;
  const early = await track(code);
  expect(early.status).toBe(200);
  expect(early.body.caseType).toBe('service_request');

  const waiting = await trackedStatus(code, 'awaiting_ack');
  expect(waiting.statusLabel).toBe('等待服务单位接单');
  expect(waiting.partnerName).toBe('南湖物业服务中心');
  expect(Date.parse(waiting.expectedBy)).toBeGreaterThan(Date.now());
  expect(waiting.steps.map((s: { key: string }) => s.key)).toEqual(['intake', 'dispatched']);

  await act(partner.key, id, 'accept', {});
  await act(partner.key, id, 'progress', { note: secret(`已联系赵阿姨家属${uniq()}`) });
  // The progress note is written by the worker after the update answers: wait for its step.
  const serving = await eventually(async () => (await track(code)).body, {
    accept: (b) => b?.status === 'in_progress' && b.steps.some((s: { key: string }) => s.key === 'progress'), what: 'the progress step',
  });
  expect(serving.steps.map((s: { key: string }) => s.key)).toEqual(['intake', 'dispatched', 'accepted', 'progress']);
  await act(partner.key, id, 'complete', { note: secret(`更换了三楼的水管${uniq()}`), hoursSpent: 2 });
  await trackedStatus(code, 'awaiting_follow_up');
  await act(staff, id, 'follow-up', { resolved: true, note: secret(`回访时赵阿姨表示满意${uniq()}`) });
  await trackedStatus(code, 'awaiting_survey');
  await act(staff, id, 'survey', { score: 5, comment: secret(`师傅很耐心${uniq()}`) });
  const closed = await trackedStatus(code, 'closed');
  expect(closed.expectedBy).toBeUndefined();
  expect(closed.steps.at(-1).key).toBe('closed');

  const en = await track(code, { 'Accept-Language': 'en-GB,en;q=0.9,zh;q=0.5' });
  expect(en.body.statusLabel).toBe('Closed');
  expect((await track(`${code}?lang=zh-CN`, { 'Accept-Language': 'en' })).body.statusLabel).toBe('已办结');
  // Typed as printed (groups of four), in lower case: the same case.
  expect((await track(`${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`.toLowerCase())).body.status).toBe('closed');
});

it('tracks a cancelled request and registrations (awaiting documents, withdrawn) the same way', async () => {
  const opened = await sys.call('POST', '/v1/service-requests', { key: staff, body: serviceRequest() });
  await act(staff, opened.body.id, 'cancel', { reason: secret(`居民赵女士已自行修好${uniq()}`) });
  expect((await trackedStatus(opened.body.trackingCode, 'cancelled')).statusLabel).toBe('已撤销');

  const u = uniq();
  const reg = await sys.call('POST', '/v1/registrations', {
    key: staff,
    body: {
      applicants: [{ name: secret(`钱国栋${u}`), idNumber: secret(`22040219800101${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`), phone: secret(`1350437${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`) }],
      property: { address: secret(`辽源市龙山区人民大街${u}号`), unitNo: secret(`${u}-2-101`) },
      businessType: 'transfer', documents: ['applicant_id'], delivery: 'window', community: sys.community,
    },
  });
  expect(reg.status).toBe(201);
  expect(reg.body.trackingCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
  const waiting = await trackedStatus(reg.body.trackingCode, 'awaiting_documents');
  expect(waiting.caseType).toBe('registration');
  expect(waiting.statusLabel).toBe('等待补充材料');
  expect(waiting.steps.map((s: { key: string }) => s.key)).toContain('documents_missing');
  const withdrawn = await sys.call('POST', `/v1/registrations/${reg.body.id}/cancel`, { key: staff, body: { reason: secret(`申请人钱先生改日再来${u}`) } });
  expect(withdrawn.status).toBe(200);
  expect((await trackedStatus(reg.body.trackingCode, 'withdrawn')).statusLabel).toBe('已撤回');
});

it('answers an unknown code and a malformed one with the same 404', async () => {
  const answers = await Promise.all(['0123456789AB', 'abc', 'x'.repeat(300), '%00', 'ILOU-ILOU-ILOU', '..%2F..%2Fetc'].map((c) => track(c)));
  for (const a of answers) {
    expect(a.status).toBe(404);
    expect(a.body).toEqual(answers[0].body);
  }
});

it('serves the resident pages: a form, and the case with a QR receipt, under a strict CSP', async () => {
  const opened = await sys.call('POST', '/v1/service-requests', { key: staff, body: serviceRequest() });
  const code = opened.body.trackingCode as string;
  await trackedStatus(code, 'awaiting_ack');
  const form = await fetch(`${sys.url}/track`, { headers: { 'Accept-Language': 'en' } });
  expect(form.status).toBe(200);
  expect(form.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(await form.text()).toContain('Enter the tracking code');

  const redirect = await fetch(`${sys.url}/track?code=${code.toLowerCase()}`, { redirect: 'manual' });
  expect(redirect.status).toBe(303);
  expect(redirect.headers.get('location')).toBe(`/track/${code}?lang=zh-CN`);

  const page = await fetch(`${sys.url}/track/${code}`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
  const html = await page.text();
  expect(html).toContain('<svg');
  expect(html).toContain('等待服务单位接单');
  expect(html).toContain(`${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`);
  expect(html).not.toMatch(/<script|(src|href)="https?:/);
  for (const s of secrets) expect(html).not.toContain(s);
  expect((await fetch(`${sys.url}/track/NOPE`)).status).toBe(404);
  const css = await fetch(`${sys.url}/track/assets/track.css`);
  expect(css.headers.get('content-type')).toContain('text/css');
});

it('limits look-ups per client address more strictly than the API', async () => {
  const api = await startExtraApi(sys, { TRACK_RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_PER_IP_PER_MINUTE: '1000' });
  try {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await api.call('GET', '/v1/track/0123456789AB')).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect((await api.call('GET', '/healthz')).status).toBe(200);
  } finally {
    await api.stop();
  }
});
