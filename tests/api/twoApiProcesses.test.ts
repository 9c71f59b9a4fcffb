/**
 * Two API processes on one database, as docs/security.md describes them: a key revoked (or a
 * partner deactivated) through one process is refused there at once and by the other within
 * API_KEY_CACHE_MS; rate limits are kept in memory per process, so each process grants a key
 * (and a client address) its own budget: N processes allow N times the limit.
 *
 * Each "process" is an API app with its own Postgres pool, which is where an API process keeps
 * what it keeps to itself (the key cache and the SLA policy cache hang off the pool, the rate
 * limiter's buckets off the app). The chaos scenario `scale-out` (chaos/scenarios.js) checks the
 * revocation again with two real OS processes.
 */
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { closeServer, startApi } from '../../src/server';
import { eventually } from '../support/eventually';
import { startTestSystem, type TestSystem } from '../support/system';
import { TEST_PAYLOAD_ENCRYPTION_KEYS, TEST_WEBHOOK_SECRET_KEYS } from '../support/testKeys';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

interface ApiProcess {
  pool: Pool;
  status(path: string, key?: string, headers?: Record<string, string>, method?: string, body?: unknown): Promise<number>;
  stop(): Promise<void>;
}

/** An API with its own pool (its own key cache), on the test system's database and Temporal client. */
async function apiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const config = loadConfig({
    APP_ENV: 'test', PORT: '0', TEMPORAL_ADDRESS: sys.config.TEMPORAL_ADDRESS, DATABASE_URL: sys.config.DATABASE_URL,
    TEMPORAL_TASK_QUEUE: sys.taskQueue, ADMIN_API_KEY: sys.adminKey, PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS,
    WEBHOOK_SECRET_KEYS: TEST_WEBHOOK_SECRET_KEYS, RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', PG_POOL_MAX: '3', ...env,
  });
  const pool = createPool(config.DATABASE_URL!, config.PG_POOL_MAX);
  const { server, url } = await startApi({ config, pool, temporal: sys.client, log: createLogger('silent', 'second-api') });
  return {
    pool,
    async status(path, key, headers = {}, method = 'GET', body) {
      const res = await fetch(`${url}${path}`, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      });
      await res.arrayBuffer();
      return res.status;
    },
    async stop() {
      await closeServer(server);
      await pool.end();
    },
  };
}

async function twoProcesses(env: Record<string, string>, run: (a: ApiProcess, b: ApiProcess) => Promise<void>): Promise<void> {
  const [a, b] = await Promise.all([apiProcess(env), apiProcess(env)]);
  try {
    await run(a, b);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

const CACHE_MS = 1500;

describe('a revocation across two API processes', () => {
  it('is refused at once by the process that revoked the key, and by the other within API_KEY_CACHE_MS', () =>
    twoProcesses({ API_KEY_CACHE_MS: String(CACHE_MS) }, async (a, b) => {
      const created = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'two processes' } });
      expect(created.status).toBe(201);
      const { id, key } = created.body as { id: string; key: string };
      // Both processes have looked the key up, so both trust it for API_KEY_CACHE_MS.
      expect(await a.status('/v1/sla-policies', key)).toBe(200);
      expect(await b.status('/v1/sla-policies', key)).toBe(200);
      const revokedAt = Date.now();
      expect(await a.status(`/v1/api-keys/${id}`, sys.adminKey, {}, 'DELETE')).toBe(200);
      expect(await a.status('/v1/sla-policies', key)).toBe(401);
      await eventually(() => b.status('/v1/sla-policies', key), { accept: (s) => s === 401, timeoutMs: CACHE_MS + 2000, what: 'the other process refusing the revoked key' });
      expect(Date.now() - revokedAt).toBeLessThanOrEqual(CACHE_MS + 1000);
      // A refusal is not cached: it stays refused on both.
      expect(await b.status('/v1/sla-policies', key)).toBe(401);
      expect(await a.status('/v1/sla-policies', key)).toBe(401);
    }));

  it('is refused at once by every process that caches no keys (API_KEY_CACHE_MS=0)', () =>
    twoProcesses({ API_KEY_CACHE_MS: '0' }, async (a, b) => {
      const created = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'two processes, no cache' } });
      const { id, key } = created.body as { id: string; key: string };
      expect(await b.status('/v1/sla-policies', key)).toBe(200);
      expect(await a.status(`/v1/api-keys/${id}`, sys.adminKey, {}, 'DELETE')).toBe(200);
      expect(await b.status('/v1/sla-policies', key)).toBe(401);
    }));

  it("stops a deactivated partner's keys where it was deactivated at once, and in the other process within API_KEY_CACHE_MS", () =>
    twoProcesses({ API_KEY_CACHE_MS: String(CACHE_MS) }, async (a, b) => {
      // No order goes to it: the webhook address is never called.
      const partner = await sys.createPartner({ name: '两个进程测试物业', webhookUrl: 'http://127.0.0.1:9/unused' });
      expect(await a.status('/v1/partners/me/visits', partner.key)).toBe(200);
      expect(await b.status('/v1/partners/me/visits', partner.key)).toBe(200);
      const at = Date.now();
      expect(await a.status(`/v1/partners/${partner.id}`, sys.adminKey, {}, 'PATCH', { active: false })).toBe(200);
      expect(await a.status('/v1/partners/me/visits', partner.key)).toBe(401);
      await eventually(() => b.status('/v1/partners/me/visits', partner.key), { accept: (s) => s === 401, timeoutMs: CACHE_MS + 2000, what: 'the other process refusing the deactivated partner' });
      expect(Date.now() - at).toBeLessThanOrEqual(CACHE_MS + 1000);
    }));
});

describe('rate limits across two API processes', () => {
  it('are per process: each grants the same key its own RATE_LIMIT_PER_MINUTE', () =>
    twoProcesses({ RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_PER_IP_PER_MINUTE: '1000' }, async (a, b) => {
      const key = await sys.createKey('staff');
      // Different client addresses each time: only the key's own budget can run out.
      const from = (i: number) => ({ 'X-Forwarded-For': `198.51.100.${i}` });
      const statuses = async (p: ApiProcess, first: number) => {
        const seen: number[] = [];
        for (let i = first; i < first + 4; i++) seen.push(await p.status('/v1/sla-policies', key, from(i)));
        return seen;
      };
      expect(await statuses(a, 1)).toEqual([200, 200, 200, 429]);
      // The other process has spent nothing of this key's budget: two processes allow twice the limit.
      expect(await statuses(b, 11)).toEqual([200, 200, 200, 429]);
    }));

  it('are per process for a client address too', () =>
    twoProcesses({ RATE_LIMIT_PER_MINUTE: '1000', RATE_LIMIT_PER_IP_PER_MINUTE: '2' }, async (a, b) => {
      const from = { 'X-Forwarded-For': '203.0.113.77' };
      const statuses = async (p: ApiProcess) => [await p.status('/v1/partners', undefined, from), await p.status('/v1/partners', undefined, from), await p.status('/v1/partners', undefined, from)];
      expect(await statuses(a)).toEqual([401, 401, 429]);
      expect(await statuses(b)).toEqual([401, 401, 429]);
    }));
});
