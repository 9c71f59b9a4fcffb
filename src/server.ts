/** The REST API process. `npm run api` runs it alone against configured services. */
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { Pool } from 'pg';
import { createApp } from './api/app';
import { type Config, ConfigError, loadConfig, requireServices } from './config';
import { webhookSecretBoxFor } from './crypto/secretBox';
import { sealWebhookSecrets } from './db/webhookSecrets';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { createLogger, type Logger } from './logger';
import { payloadCodecFor } from './temporal/codec';
import { connectClient } from './temporal/connection';
import { describeTemporalSecurity } from './temporal/connectionOptions';

/** `metricsUrl`: the separate metrics listener's base URL when METRICS_PORT is set. */
export async function startApi(opts: { config: Config; pool: Pool; temporal: Client; log: Logger }): Promise<{ server: Server; url: string; metricsUrl?: string }> {
  const { app, flush, metricsApp } = createApp(opts);
  const server = await listen(app, opts.config.PORT, opts.config.HOST);
  let metricsServer: Server | null = null;
  if (metricsApp) {
    metricsServer = await listen(metricsApp, opts.config.METRICS_PORT!, opts.config.METRICS_HOST ?? opts.config.HOST).catch(async (err) => {
      await new Promise((resolve) => server.close(resolve));
      throw err;
    });
  }
  flushOnClose.set(server, async () => {
    if (metricsServer) await new Promise((resolve) => metricsServer.close(resolve));
    await flush();
  });
  return { server, url: baseUrl(server, opts.config.HOST), ...(metricsServer ? { metricsUrl: baseUrl(metricsServer, opts.config.METRICS_HOST ?? opts.config.HOST) } : {}) };
}

function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
}

function baseUrl(server: Server, host: string): string {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
}

/** What each API server still has to write out once it has stopped taking requests. */
const flushOnClose = new WeakMap<Server, () => Promise<void>>();

/** Stop taking requests, finish those in flight, then write out what the app holds (audit rows). */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await flushOnClose.get(server)?.();
}

async function main(log: Logger): Promise<void> {
  const config = loadConfig();
  const { temporalAddress, databaseUrl } = requireServices(config);
  if (config.adminApiKeys.length === 0) log.warn('ADMIN_API_KEY is not set: only keys already in the database will work');
  if (config.APP_ENV === 'production' && config.METRICS_PORT === undefined && !config.METRICS_BEARER) log.warn('/metrics is off: set METRICS_PORT or METRICS_BEARER to serve it (docs/deployment.md)');
  const pool = createPool(databaseUrl, config.PG_POOL_MAX);
  await migrate(pool);
  // Secrets still in clear (before migration 015) or under a retired key: sealed under the current one.
  const sealing = await sealWebhookSecrets(pool, webhookSecretBoxFor(config));
  if (sealing.sealed + sealing.rewrapped > 0) log.info(sealing, 'webhook secrets sealed');
  const { client, connection } = await connectClient(temporalAddress, config.TEMPORAL_NAMESPACE, payloadCodecFor(config), config.temporalSecurity);
  const { server, url, metricsUrl } = await startApi({ config, pool, temporal: client, log });
  log.info({ url, metricsUrl, temporal: describeTemporalSecurity(config.temporalSecurity) }, 'API listening');
  const stop = async () => {
    await closeServer(server);
    await connection.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  const log = createLogger(process.env.LOG_LEVEL ?? 'info', 'api');
  main(log).catch((err) => {
    if (err instanceof ConfigError) console.error(err.message);
    else log.fatal({ err: (err as Error).message }, 'API failed to start');
    process.exit(1);
  });
}
