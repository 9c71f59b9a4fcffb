/** The Temporal worker: runs case workflows and their activities. `npm run worker` runs it alone. */
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from './activities';
import { orderLinkSecret, publicBaseUrl } from './api/orderLinkSecret';
import { type Config, ConfigError, loadConfig, requireServices } from './config';
import { webhookSecretBoxFor } from './crypto/secretBox';
import { sealWebhookSecrets } from './db/webhookSecrets';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { createLogger, type Logger } from './logger';
import { payloadCodecFor } from './temporal/codec';
import { connectWorker } from './temporal/connection';
import { installWorkerRuntime } from './temporal/runtime';

export async function createCaseWorker(opts: { config: Config; connection: NativeConnection; pool: Pool }): Promise<Worker> {
  const { config, connection, pool } = opts;
  const workflowSource = config.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('./workflows') };
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...workflowSource,
    // The codec runs in the worker's main thread, outside the workflow sandbox: nothing to bundle.
    dataConverter: { payloadCodecs: [payloadCodecFor(config)] },
    activities: createActivities({
      pool, webhookTimeoutMs: config.WEBHOOK_TIMEOUT_MS, webhookAllowCidrs: config.webhookAllowCidrs, webhookSecrets: webhookSecretBoxFor(config),
      orderLinks: { secret: orderLinkSecret(config), baseUrl: publicBaseUrl(config) },
    }),
    shutdownGraceTime: config.SHUTDOWN_GRACE_MS,
    // The SDK's default (600 per GB of heap limit) held 2,300 workflows, 0.7 GB; cases that wait for days need no cache.
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  });
}

async function main(log: Logger): Promise<void> {
  const config = loadConfig();
  const { temporalAddress, databaseUrl } = requireServices(config);
  const pool = createPool(databaseUrl, config.PG_POOL_MAX);
  await migrate(pool);
  const metrics = installWorkerRuntime({ log, metricsHost: config.HOST, metricsPort: config.WORKER_METRICS_PORT });
  await sealWebhookSecrets(pool, webhookSecretBoxFor(config));
  const connection = await connectWorker(temporalAddress, config.temporalSecurity);
  const worker = await createCaseWorker({ config, connection, pool });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => worker.shutdown());
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metrics: metrics ? `http://${metrics}/metrics` : 'off' }, 'worker running');
  await worker.run();
  await connection.close();
  await pool.end();
  log.info('worker stopped');
}

if (require.main === module) {
  const log = createLogger(process.env.LOG_LEVEL ?? 'info', 'worker');
  main(log).catch((err) => {
    if (err instanceof ConfigError) console.error(err.message);
    else log.fatal({ err: (err as Error).message }, 'worker failed');
    process.exit(1);
  });
}
