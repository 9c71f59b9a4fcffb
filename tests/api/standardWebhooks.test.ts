/**
 * Partner webhooks, second round: the Standard Webhooks headers (checked by the reference
 * library, not by our code), dual signatures for 24 h after a secret change, https only in
 * production, secrets sealed at rest, deactivated partners cut off, partners without a webhook.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { deliverPartnerWebhook, type WebhookDelivery } from '../../src/activities/webhooks';
import { parsePayloadKeys } from '../../src/config';
import { webhookSecretBoxFor, WebhookSecretBox } from '../../src/crypto/secretBox';
import { sealWebhookSecrets } from '../../src/db/webhookSecrets';
import { webhookDispatcher, webhookFetch } from '../../src/net/webhookDispatcher';
import { eventually } from '../support/eventually';
import { startExtraApi } from '../support/extraApi';
import { startPartnerSimulator, verifiesWith, type PartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

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

const intake = (community: string) => ({
  resident: { name: '孙大爷', phone: '13900004444', community },
  category: 'housing', description: '灯坏了', urgency: 'normal', channel: 'phone',
});
const activityEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
const delivery = (partnerId: string): WebhookDelivery => ({
  partnerId, event: 'order.reminder', deliveryId: `test:${randomUUID()}`, caseId: randomUUID(), caseType: 'service_request', orderId: randomUUID(), case: {},
});
const box = () => webhookSecretBoxFor(sys.config);
const deliver = (d: WebhookDelivery) => activityEnv().run(deliverPartnerWebhook,
  { pool: sys.pool, fetch: webhookFetch, timeoutMs: 2000, dispatcher: webhookDispatcher({ allow: sys.config.webhookAllowCidrs }), secrets: box() }, d);

async function dispatchedTo(partnerId: string, community = sys.community): Promise<string> {
  const created = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake(community) });
  expect(created.status).toBe(201);
  await eventually(async () => (await sys.call('GET', `/v1/service-requests/${created.body.id}`)).body, {
    accept: (c: { status: string; assignedPartnerId: string }) => c.status === 'awaiting_ack' && c.assignedPartnerId === partnerId, what: 'dispatch',
  });
  return created.body.id;
}

describe('Standard Webhooks headers', () => {
  it('signs every delivery so that the reference library verifies it, beside X-Signature', async () => {
    const partner = await sys.createPartner({ name: '标准物业', webhookUrl: sim.url, webhookSecret: sim.secret });
    const caseId = await dispatchedTo(partner.id);
    const got = (await eventually(async () => sim.received.find((r) => r.body.caseId === caseId), { what: 'the dispatch webhook' }))!;
    expect(got.standardValid).toBe(true);
    expect(got.signatureValid).toBe(true);
    expect(got.headers['webhook-id']).toBe(got.deliveryId);
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(String(got.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // A tampered body or another secret does not verify.
    expect(verifiesWith(sim.secret, got.raw.replace('孙大爷', '孙大妈'), got.headers)).toBe(false);
    expect(verifiesWith('another-secret-0123456789', got.raw, got.headers)).toBe(false);
  });

  it('signs with the new and the previous secret for 24 hours after a change, then the new one only', async () => {
    const oldSecret = sim.secret;
    const partner = await sys.createPartner({ name: '换密钥物业', webhookUrl: sim.url, webhookSecret: oldSecret });
    const newSecret = `rotated-${randomBytes(12).toString('hex')}`;
    expect((await sys.call('PATCH', `/v1/partners/${partner.id}`, { body: { webhookSecret: newSecret } })).status).toBe(200);

    const during = delivery(partner.id);
    await deliver(during);
    const first = sim.received.find((r) => r.deliveryId === during.deliveryId)!;
    expect(String(first.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(newSecret, first.raw, first.headers)).toBe(true);
    expect(verifiesWith(oldSecret, first.raw, first.headers)).toBe(true);

    await sys.pool.query(`UPDATE partners SET webhook_secret_changed_at = now() - interval '24 hours 1 minute' WHERE id = $1`, [partner.id]);
    const after = delivery(partner.id);
    await deliver(after);
    const second = sim.received.find((r) => r.deliveryId === after.deliveryId)!;
    expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifiesWith(newSecret, second.raw, second.headers)).toBe(true);
    expect(verifiesWith(oldSecret, second.raw, second.headers)).toBe(false);
  });
});

describe('webhook URLs in production', () => {
  it('refuses http: at create and patch (400 naming webhookUrl), takes https:', async () => {
    const prod = await startExtraApi(sys, { APP_ENV: 'production', WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8' });
    try {
      const body = (webhookUrl: string) => ({
        name: '外部单位', kind: 'enterprise', categories: ['food'], communities: [sys.community], capacity: 1, webhookUrl, webhookSecret: 'long-enough-secret-123',
      });
      const refused = await prod.call('POST', '/v1/partners', { key: sys.adminKey, body: body('http://partner.example.org/hook') });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([{ path: 'body.webhookUrl', message: expect.stringContaining('https') }]);
      const created = await prod.call('POST', '/v1/partners', { key: sys.adminKey, body: body('https://partner.example.org/hook') });
      expect(created.status).toBe(201);
      const patched = await prod.call('PATCH', `/v1/partners/${created.body.id}`, { key: sys.adminKey, body: { webhookUrl: 'http://partner.example.org/other' } });
      expect(patched.status).toBe(400);
      expect(patched.body.errors[0].path).toBe('body.webhookUrl');
    } finally {
      await prod.stop();
    }
  });
});

describe('webhook secrets at rest', () => {
  it('stores a new secret only sealed, never in clear', async () => {
    const secret = `at-rest-${randomBytes(12).toString('hex')}`;
    const partner = await sys.createPartner({ name: '密封物业', webhookUrl: sim.url, webhookSecret: secret });
    const { rows } = await sys.pool.query('SELECT * FROM partners WHERE id = $1', [partner.id]);
    expect(rows[0].webhook_secret).toBeNull();
    expect(rows[0].webhook_secret_sealed).toMatch(/^v1\.testw1\./);
    expect(JSON.stringify(rows[0])).not.toContain(secret);
    expect(JSON.stringify((await sys.call('GET', `/v1/partners/${partner.id}`)).body)).not.toContain(secret);
  });

  it('seals rows written in clear at start-up, rewraps them under a new first key, and they still sign', async () => {
    const id = randomUUID();
    await sys.pool.query(
      `INSERT INTO partners (id, name, kind, capacity, webhook_url, webhook_secret) VALUES ($1, 'legacy', 'enterprise', 1, $2, $3)`, [id, sim.url, sim.secret]);
    expect((await sealWebhookSecrets(sys.pool, box())).sealed).toBeGreaterThanOrEqual(1);
    const sealed = (await sys.pool.query('SELECT webhook_secret, webhook_secret_sealed FROM partners WHERE id = $1', [id])).rows[0];
    expect(sealed.webhook_secret).toBeNull();
    const d1 = delivery(id);
    await deliver(d1);
    expect(sim.received.find((r) => r.deliveryId === d1.deliveryId)?.standardValid).toBe(true);

    // Rotation: a new key first, the old one still listed; start-up rewraps; then the old key can go.
    const next = parsePayloadKeys(`w2:${randomBytes(32).toString('base64')}`, 'WEBHOOK_SECRET_KEYS');
    const rotated = new WebhookSecretBox([...next, ...sys.config.webhookSecretKeys]);
    expect((await sealWebhookSecrets(sys.pool, rotated)).rewrapped).toBeGreaterThanOrEqual(1);
    const rewrapped = (await sys.pool.query('SELECT webhook_secret_sealed FROM partners WHERE id = $1', [id])).rows[0].webhook_secret_sealed;
    expect(rewrapped).toMatch(/^v1\.w2\./);
    expect(new WebhookSecretBox(next).open(id, rewrapped)).toBe(sim.secret);
    // Copied onto another partner's row, a sealed secret does not open (the partner id is bound in).
    expect(() => new WebhookSecretBox(next).open(randomUUID(), rewrapped)).toThrow(/failed authentication/);
    // Put the test key back on top for the rest of the suite.
    await sealWebhookSecrets(sys.pool, new WebhookSecretBox([...sys.config.webhookSecretKeys, ...next]));
  });
});

describe('a deactivated partner', () => {
  it('gets no more deliveries (given up, recorded) and its keys stop working', async () => {
    const partner = await sys.createPartner({ name: '停用物业', webhookUrl: sim.url, webhookSecret: sim.secret });
    expect((await sys.call('GET', `/v1/partners/${partner.id}`, { key: partner.key })).status).toBe(200);
    expect((await sys.call('PATCH', `/v1/partners/${partner.id}`, { body: { active: false } })).status).toBe(200);
    expect((await sys.call('GET', `/v1/partners/${partner.id}`, { key: partner.key })).status).toBe(401);
    expect((await sys.call('GET', '/v1/partners/me/orders', { key: partner.key })).status).toBe(401);

    const d = delivery(partner.id);
    const failure = await deliver(d).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'PartnerInactive', nonRetryable: true });
    expect(sim.received.find((r) => r.deliveryId === d.deliveryId)).toBeUndefined();
    const attempts = await sys.pool.query('SELECT outcome, error FROM webhook_attempts WHERE delivery_id = $1', [d.deliveryId]);
    expect(attempts.rows).toEqual([{ outcome: 'refused', error: expect.stringContaining('deactivated') }]);

    // Reactivated, its keys work again.
    expect((await sys.call('PATCH', `/v1/partners/${partner.id}`, { body: { active: true } })).status).toBe(200);
    expect((await sys.call('GET', `/v1/partners/${partner.id}`, { key: partner.key })).status).toBe(200);
  });
});

describe('a partner without a system of its own', () => {
  it('registers without webhookUrl/webhookSecret; its order is recorded as skipped and still waits for its accept', async () => {
    const community = `${sys.community}-无系统`;
    const partner = await sys.createPartner({ name: '无系统志愿队', webhookSecret: undefined, communities: [community] });
    expect((await sys.call('GET', `/v1/partners/${partner.id}`)).body.webhookUrl).toBeNull();
    const caseId = await dispatchedTo(partner.id, community);
    const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${caseId}/history`)).body as { type: string; data: any }[], {
      accept: (h) => h.some((e) => e.type === 'notification_delivered'), what: 'the dispatch notification',
    });
    const notice = history.find((e) => e.type === 'notification_delivered')!;
    expect(notice.data.attemptLog).toEqual([expect.objectContaining({ outcome: 'skipped', httpStatus: null, error: null })]);
    expect(history.some((e) => e.type === 'notification_failed')).toBe(false);
    const accepted = await sys.call('POST', `/v1/service-requests/${caseId}/accept`, { key: partner.key });
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('in_progress');
  });

  it('needs both webhookUrl and webhookSecret, or neither', async () => {
    const base = { name: '半套', kind: 'enterprise', categories: ['food'], communities: [sys.community], capacity: 1 };
    const urlOnly = await sys.call('POST', '/v1/partners', { body: { ...base, webhookUrl: sim.url } });
    expect(urlOnly.status).toBe(400);
    expect(urlOnly.body.errors[0].path).toBe('body.webhookSecret');
    const secretOnly = await sys.call('POST', '/v1/partners', { body: { ...base, webhookSecret: 'long-enough-secret-123' } });
    expect(secretOnly.status).toBe(400);
    expect(secretOnly.body.errors[0].path).toBe('body.webhookUrl');
  });
});
