/**
 * The real system for API and end-to-end tests: the API on a free port and a worker on its
 * own task queue, against the run's Temporal dev server and Postgres (see globalSetup).
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Client, Connection } from '@temporalio/client';
import { type NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { loadConfig, type Config } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { closeServer, startApi } from '../../src/server';
import { payloadCodecFor } from '../../src/temporal/codec';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import { createCaseWorker } from '../../src/worker';
import { TEST_PAYLOAD_ENCRYPTION_KEYS, TEST_WEBHOOK_SECRET_KEYS } from './testKeys';

export interface ApiResponse<T = any> { status: number; body: T; headers: Headers }

export interface TestSystem {
  url: string;
  adminKey: string;
  config: Config;
  pool: Pool;
  client: Client;
  taskQueue: string;
  /** A unique community name, so tests never see each other's partners and cases. */
  community: string;
  call<T = any>(method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<ApiResponse<T>>;
  createKey(role: 'admin' | 'supervisor' | 'staff' | 'partner', extra?: Record<string, unknown>): Promise<string>;
  createPartner(fields: Record<string, unknown>): Promise<{ id: string; key: string }>;
  stop(): Promise<void>;
}

let runtimeConfigured = false;

export async function startTestSystem(env: Record<string, string> = {}): Promise<TestSystem> {
  // A test that installs its own runtime (the worker-metrics test) keeps it.
  if (!runtimeConfigured && !Runtime._instance) {
    // Keep the SDK's own logs out of test output unless they are warnings.
    Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) } as never });
    runtimeConfigured = true;
  }
  const adminKey = `test-admin-${randomUUID()}`;
  const taskQueue = `test-${randomUUID()}`;
  const config = loadConfig({
    APP_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: process.env.DATABASE_URL, ADMIN_API_KEY: adminKey,
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE, PG_POOL_MAX: '5', WEBHOOK_TIMEOUT_MS: '3000',
    SHUTDOWN_GRACE_MS: '2000', PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS, WEBHOOK_SECRET_KEYS: TEST_WEBHOOK_SECRET_KEYS,
    // Off by default so suites making many requests are not throttled; rate-limit tests set their own.
    RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', ...env,
  });
  const log = createLogger('silent', 'test');
  const pool = createPool(config.DATABASE_URL!, config.PG_POOL_MAX);
  const { client, connection } = await connectClient(config.TEMPORAL_ADDRESS!, config.TEMPORAL_NAMESPACE, payloadCodecFor(config), config.temporalSecurity);
  const workerConnection: NativeConnection = await connectWorker(config.TEMPORAL_ADDRESS!, config.temporalSecurity);
  const worker: Worker = await createCaseWorker({ config, connection: workerConnection, pool });
  const running = worker.run();
  const { server, url } = await startApi({ config, pool, temporal: client, log });

  const call: TestSystem['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const key = opts.key === undefined ? adminKey : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };

  const system: TestSystem = {
    url, adminKey, config, pool, client, taskQueue, community: `社区-${randomUUID().slice(0, 8)}`, call,
    async createKey(role, extra = {}) {
      const res = await call('POST', '/v1/api-keys', { body: { role, name: `${role} for tests`, ...extra } });
      if (res.status !== 201) throw new Error(`could not create ${role} key: ${JSON.stringify(res.body)}`);
      return res.body.key;
    },
    async createPartner(fields) {
      const res = await call('POST', '/v1/partners', {
        body: { kind: 'property_company', categories: ['housing'], communities: [system.community], capacity: 5, webhookSecret: 'a-test-secret-0123456789', ...fields },
      });
      if (res.status !== 201) throw new Error(`could not create partner: ${JSON.stringify(res.body)}`);
      return { id: res.body.id, key: await system.createKey('partner', { partnerId: res.body.id }) };
    },
    async stop() {
      await closeServer(server as Server);
      worker.shutdown();
      await running;
      await workerConnection.close();
      await (connection as Connection).close();
      await pool.end();
    },
  };
  return system;
}
