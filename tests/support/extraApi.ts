/**
 * A second API process on the same Postgres, Temporal client and workers as a test system,
 * with other settings: production mode, rotated admin keys, tight rate limits, a captured log.
 */
import { loadConfig, type Config } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';
import { closeServer, startApi } from '../../src/server';
import type { ApiResponse, TestSystem } from './system';
import { TEST_PAYLOAD_ENCRYPTION_KEYS, TEST_WEBHOOK_SECRET_KEYS } from './testKeys';

export interface ExtraApi {
  url: string;
  /** The separate metrics listener, when METRICS_PORT is set. */
  metricsUrl?: string;
  config: Config;
  call<T = any>(method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

export async function startExtraApi(sys: TestSystem, env: Record<string, string>, log: Logger = createLogger('silent', 'extra-api')): Promise<ExtraApi> {
  const config = loadConfig({
    APP_ENV: 'test', PORT: '0', TEMPORAL_ADDRESS: sys.config.TEMPORAL_ADDRESS, DATABASE_URL: sys.config.DATABASE_URL,
    TEMPORAL_TASK_QUEUE: sys.taskQueue, ADMIN_API_KEY: sys.adminKey, PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS, WEBHOOK_SECRET_KEYS: TEST_WEBHOOK_SECRET_KEYS,
    RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', ...env,
  });
  const { server, url, metricsUrl } = await startApi({ config, pool: sys.pool, temporal: sys.client, log });
  return {
    url, metricsUrl, config,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const text = await res.text();
      let body: unknown = text;
      try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
      return { status: res.status, body: body as any, headers: res.headers };
    },
    stop: () => closeServer(server),
  };
}
