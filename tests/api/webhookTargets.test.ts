/**
 * SSRF closed at the socket: partner webhooks reach only public addresses, or private ranges
 * named in WEBHOOK_ALLOW_CIDRS, judged on the address the connection actually goes to.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { deliverPartnerWebhook, type WebhookDelivery } from '../../src/activities/webhooks';
import { parseCidrs } from '../../src/net/privateAddress';
import { addressRefusal, type Resolver, webhookDispatcher, webhookFetch } from '../../src/net/webhookDispatcher';
import { startExtraApi } from '../support/extraApi';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let sim: PartnerSimulator;
beforeAll(async () => {
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

const partnerBody = (webhookUrl: string) => ({
  name: '外部单位', kind: 'enterprise', categories: ['food'], communities: [sys.community], capacity: 1, webhookUrl, webhookSecret: 'long-enough-secret-123',
});

describe('at registration, in production', () => {
  it('refuses non-public hosts, IPv4-embedding IPv6 forms included, unless their range is allowlisted', async () => {
    const prod = await startExtraApi(sys, { APP_ENV: 'production' });
    const allowing = await startExtraApi(sys, { APP_ENV: 'production', WEBHOOK_ALLOW_CIDRS: '10.0.0.0/8' });
    try {
      const refused = [
        'https://127.0.0.1:9/hook', 'https://10.0.0.5/hook', 'https://[::1]/hook', 'https://metadata.internal/', 'https://169.254.169.254/latest',
        'https://[64:ff9b::a00:5]/hook', 'https://[2002:a00:5::1]/hook', 'https://[::ffff:a00:5]/hook', 'https://[fd00::1]/hook',
      ];
      for (const url of refused) {
        const res = await prod.call('POST', '/v1/partners', { key: sys.adminKey, body: partnerBody(url) });
        expect({ url, status: res.status, path: res.body.errors?.[0]?.path }).toEqual({ url, status: 400, path: 'body.webhookUrl' });
      }
      expect((await prod.call('POST', '/v1/partners', { key: sys.adminKey, body: partnerBody('https://partner.example.org/hook') })).status).toBe(201);
      expect((await allowing.call('POST', '/v1/partners', { key: sys.adminKey, body: partnerBody('https://10.0.0.5/hook') })).status).toBe(201);
      expect((await allowing.call('POST', '/v1/partners', { key: sys.adminKey, body: partnerBody('https://192.168.1.5/hook') })).status).toBe(400);
    } finally {
      await prod.stop();
      await allowing.stop();
    }
  });
});

describe('at delivery, at the socket', () => {
  const activityEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
  const delivery = (partnerId: string): WebhookDelivery => ({
    partnerId, event: 'order.reminder', deliveryId: `test:${randomUUID()}`, caseId: randomUUID(), caseType: 'service_request', orderId: randomUUID(), case: {},
  });
  async function partnerAt(url: string): Promise<string> {
    const id = randomUUID();
    await sys.pool.query(
      `INSERT INTO partners (id, name, kind, capacity, webhook_url, webhook_secret) VALUES ($1, 'ssrf test', 'enterprise', 1, $2, $3)`, [id, url, sim.secret]);
    return id;
  }
  /** A partner's DNS name, answered by the test: the simulator's loopback address, counted. */
  function loopbackName(): { url: string; resolve: Resolver; lookups: () => number } {
    let lookups = 0;
    const port = new URL(sim.url).port;
    return {
      url: `http://hooks.partner-${randomUUID().slice(0, 8)}.example:${port}/webhook`,
      resolve: async () => { lookups += 1; return [{ address: '127.0.0.1', family: 4 }]; },
      lookups: () => lookups,
    };
  }
  const run = (dispatcher: ReturnType<typeof webhookDispatcher>, d: WebhookDelivery) => activityEnv().run(deliverPartnerWebhook,
    { pool: sys.pool, fetch: webhookFetch, timeoutMs: 2000, dispatcher }, d).catch((err: unknown) => err);

  it('refuses a name that resolves to a private address when the connection is made, and sends nothing', async () => {
    const name = loopbackName();
    const d = delivery(await partnerAt(name.url));
    const failure = await run(webhookDispatcher({ allow: [], resolve: name.resolve }), d);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'WebhookAddressRefused', nonRetryable: true });
    expect((failure as Error).message).toMatch(/resolves to 127\.0\.0\.1 is a loopback address/);
    expect(name.lookups()).toBe(1); // the only resolution is the connection's own
    expect(sim.received.find((r) => r.deliveryId === d.deliveryId)).toBeUndefined();
    const attempts = await sys.pool.query('SELECT outcome, error FROM webhook_attempts WHERE delivery_id = $1', [d.deliveryId]);
    expect(attempts.rows).toEqual([{ outcome: 'refused', error: expect.stringContaining('127.0.0.1') }]);
  });

  it('delivers through the same name when its range is in the allowlist', async () => {
    const name = loopbackName();
    const d = delivery(await partnerAt(name.url));
    await expect(run(webhookDispatcher({ allow: parseCidrs('127.0.0.0/8'), resolve: name.resolve }), d)).resolves.toMatchObject({ httpStatus: 200 });
    expect(sim.received.find((r) => r.deliveryId === d.deliveryId)?.signatureValid).toBe(true);
  });

  it('refuses literal addresses in their IPv4-embedding IPv6 forms without connecting', async () => {
    const port = new URL(sim.url).port;
    const before = sim.received.length;
    for (const host of ['[64:ff9b::7f00:1]', '[::ffff:7f00:1]', '[2002:7f00:1::1]', '127.0.0.1']) {
      const d = delivery(await partnerAt(`http://${host}:${port}/webhook`));
      const failure = await run(webhookDispatcher({ allow: [] }), d);
      expect({ host, failure }).toEqual({ host, failure: expect.objectContaining({ type: 'WebhookAddressRefused', nonRetryable: true }) });
    }
    expect(sim.received.length).toBe(before);
  });

  it('checks the connected socket too, so no request reaches a refused address even without DNS', async () => {
    const before = sim.received.length;
    const err = await webhookFetch(sim.url, { method: 'POST', body: '{}', dispatcher: webhookDispatcher({ allow: [] }) } as RequestInit).catch((e: unknown) => e);
    expect(addressRefusal(err)?.message).toMatch(/reached 127\.0\.0\.1 is a loopback address/);
    expect(sim.received.length).toBe(before);
  });
});
