/**
 * The webhook activity under faults. A partner's delivery attempts are the partner's: while our own Postgres is unreachable
 * the webhook activity waits for it inside the attempt (the chaos run once saw a 30 s
 * outage use up all 5 attempts of an order). Against the real Postgres of the run, with the
 * first statements refused as an unreachable server refuses them.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Pool } from 'pg';
import { deliverPartnerWebhook, type WebhookDelivery } from '../../src/activities/webhooks';
import { parseCidrs } from '../../src/net/privateAddress';
import { webhookDispatcher } from '../../src/net/webhookDispatcher';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

const activityEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });

/** The run's pool, refusing the statements for which `down()` says so, as when Postgres is stopped. */
function flakyPool(down: (statement: number) => boolean): { pool: Pool; refused: () => number } {
  let statement = 0;
  let refused = 0;
  const pool = new Proxy(sys.pool, {
    get: (target, prop) => (prop === 'query'
      ? (text: string, values: unknown[]) => {
        if (down(++statement)) {
          refused += 1;
          return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
        }
        return target.query(text, values);
      }
      : Reflect.get(target, prop)),
  }) as Pool;
  return { pool, refused: () => refused };
}

// The partner here listens on loopback, which the test systems allowlist.
const loopbackAgent = webhookDispatcher({ allow: parseCidrs('127.0.0.0/8') });

async function partner(): Promise<string> {
  const id = randomUUID();
  await sys.pool.query(
    `INSERT INTO partners (id, name, kind, capacity, webhook_url, webhook_secret) VALUES ($1, 'outage test', 'enterprise', 1, 'http://127.0.0.1:9/hook', 'long-enough-secret-123')`, [id]);
  return id;
}

const delivery = (partnerId: string): WebhookDelivery => ({
  partnerId, event: 'order.dispatched', deliveryId: `test:${randomUUID()}`, caseId: randomUUID(), caseType: 'service_request', orderId: randomUUID(), case: {},
});

it('waits out a Postgres outage before and after the POST, posting once in one attempt', async () => {
  const d = delivery(await partner());
  // Statements 1-3 (the partner lookup) and 5-6 (the attempt log) are refused.
  const { pool, refused } = flakyPool((n) => n <= 3 || n === 5 || n === 6);
  const fetch = jest.fn(async () => new Response(null, { status: 202 }));
  const result = await activityEnv().run(deliverPartnerWebhook,
    { pool, fetch: fetch as unknown as typeof globalThis.fetch, timeoutMs: 1000, dispatcher: loopbackAgent, postgresWaitMs: 30_000 }, d);
  expect(result).toEqual({ httpStatus: 202, attempt: 1 });
  expect(refused()).toBe(5);
  expect(fetch).toHaveBeenCalledTimes(1);
  const logged = await sys.pool.query('SELECT attempt, http_status FROM webhook_attempts WHERE delivery_id = $1', [d.deliveryId]);
  expect(logged.rows).toEqual([{ attempt: 1, http_status: 202 }]);
});

it('fails the attempt (to be retried) when Postgres stays away longer than the wait, without posting', async () => {
  const d = delivery(await partner());
  const { pool, refused } = flakyPool(() => true);
  const fetch = jest.fn(async () => new Response(null, { status: 202 }));
  const failure = await activityEnv().run(deliverPartnerWebhook,
    { pool, fetch: fetch as unknown as typeof globalThis.fetch, timeoutMs: 1000, dispatcher: loopbackAgent, postgresWaitMs: 600 }, d)
    .catch((err: unknown) => err);
  expect((failure as Error).message).toContain('ECONNREFUSED');
  expect(failure).not.toBeInstanceOf(ApplicationFailure); // an ordinary error: Temporal retries it
  expect(refused()).toBeGreaterThan(1);
  expect(fetch).not.toHaveBeenCalled();
});

it('does not wait on errors that are not an unreachable server', async () => {
  const d = delivery(await partner());
  let calls = 0;
  const pool = new Proxy(sys.pool, {
    get: (target, prop) => (prop === 'query'
      ? () => { calls += 1; return Promise.reject(Object.assign(new Error('permission denied for table partners'), { code: '42501' })); }
      : Reflect.get(target, prop)),
  }) as Pool;
  const failure = await activityEnv().run(deliverPartnerWebhook,
    { pool, fetch: globalThis.fetch, timeoutMs: 1000, dispatcher: loopbackAgent, postgresWaitMs: 30_000 }, d).catch((err: unknown) => err);
  expect((failure as Error).message).toContain('permission denied');
  expect(calls).toBe(1);
});

it('stops a POST in flight when the delivery is cancelled, logs the attempt and ends as cancelled', async () => {
  const d = delivery(await partner());
  let posted!: () => void;
  const postStarted = new Promise<void>((resolve) => { posted = resolve; });
  // A partner that never answers: the request ends only when its signal aborts.
  const fetch = jest.fn((_url: unknown, init?: RequestInit) => new Promise<Response>((_resolve, reject) => {
    posted();
    init!.signal!.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
  }));
  const env = activityEnv();
  const running = env.run(deliverPartnerWebhook,
    { pool: sys.pool, fetch: fetch as unknown as typeof globalThis.fetch, timeoutMs: 60_000, dispatcher: loopbackAgent }, d)
    .catch((err: unknown) => err);
  await postStarted;
  env.cancel();
  const outcome = await running;
  expect(outcome).toBeInstanceOf(CancelledFailure);
  const logged = await sys.pool.query('SELECT attempt, http_status, error FROM webhook_attempts WHERE delivery_id = $1', [d.deliveryId]);
  expect(logged.rows).toEqual([{ attempt: 1, http_status: null, error: expect.stringContaining('cancelled') }]);
});
