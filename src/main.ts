/**
 * `npm start`: the whole system on one machine. Uses TEMPORAL_ADDRESS and DATABASE_URL when
 * set; otherwise starts a Temporal dev server and an embedded Postgres, both keeping their
 * data under DATA_DIR, so a second start finds the same cases.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, ConfigError, loadConfig } from './config';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { startEmbeddedPostgres } from './dev/embeddedPostgres';
import { devPayloadKeys, devWebhookSecretKeys } from './dev/payloadKeys';
import { webhookSecretBoxFor } from './crypto/secretBox';
import { sealWebhookSecrets } from './db/webhookSecrets';
import { startTemporalDevServer } from './dev/temporalDevServer';
import { resolveTemporalCli } from './dev/tools';
import { CASE_SEARCH_ATTRIBUTES } from './domain/searchAttributes';
import { createLogger } from './logger';
import { closeServer, startApi } from './server';
import { payloadCodecFor } from './temporal/codec';
import { connectClient, connectWorker } from './temporal/connection';
import { installWorkerRuntime } from './temporal/runtime';
import { createCaseWorker } from './worker';
import { ensureFirstAdmin } from './console/firstAdmin';

const PROJECT_ROOT = resolve(__dirname, '..');

/** With no ADMIN_API_KEY, a generated one is kept in DATA_DIR (mode 600) so restarts keep working. */
function devAdminKey(dataDir: string): string {
  const file = join(dataDir, 'admin-api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `gj_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

async function main(): Promise<void> {
  const started = Date.now();
  let config: Config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'gongjian');
  const say = (msg: string) => log.info(msg);
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const stop of stops.reverse()) await stop().catch((err) => log.warn({ err: (err as Error).message }, 'stop step failed'));
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    let adminKeyNote = 'from ADMIN_API_KEY';
    if (config.adminApiKeys.length === 0) {
      config = { ...config, adminApiKeys: [devAdminKey(dataDir)] };
      adminKeyNote = `generated, in ${join(dataDir, 'admin-api-key')}`;
    }
    let payloadKeyNote = 'from PAYLOAD_ENCRYPTION_KEYS';
    if (config.payloadEncryptionKeys.length === 0) {
      const dev = devPayloadKeys(dataDir);
      config = { ...config, payloadEncryptionKeys: dev.keys };
      payloadKeyNote = `development key, kept in ${dev.file}`;
    }
    if (config.webhookSecretKeys.length === 0) {
      config = { ...config, webhookSecretKeys: devWebhookSecretKeys(dataDir).keys };
    }
    // The UI calls the codec from the browser, so this is the API's address as a browser reaches it.
    const apiHost = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
    const codecEndpoint = config.PORT === 0 ? undefined : `http://${apiHost}:${config.PORT}/codec`;

    let temporalAddress = config.TEMPORAL_ADDRESS;
    let uiUrl: string | null = null;
    if (!temporalAddress) {
      const cliPath = await resolveTemporalCli({ projectRoot: PROJECT_ROOT, log: say });
      say('starting the Temporal dev server...');
      const dev = await startTemporalDevServer({
        cliPath,
        dbFile: join(dataDir, 'temporal.db'),
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        searchAttributes: { ...CASE_SEARCH_ATTRIBUTES },
        logFile: join(dataDir, 'temporal.log'),
        uiCodecEndpoint: codecEndpoint,
        log: say,
      });
      stops.push(() => dev.stop());
      temporalAddress = dev.address;
      uiUrl = dev.uiUrl;
    }

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      say('starting the embedded Postgres...');
      const pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), maxConnections: config.PG_POOL_MAX, log: say });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }

    const pool = createPool(databaseUrl, config.PG_POOL_MAX);
    stops.push(() => pool.end());
    const applied = await migrate(pool);
    if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
    const sealing = await sealWebhookSecrets(pool, webhookSecretBoxFor(config));
    if (sealing.sealed + sealing.rewrapped > 0) say(`webhook secrets sealed: ${sealing.sealed} in clear, ${sealing.rewrapped} under an older key`);

    // TLS / API key settings are for an external cluster; the dev server started above speaks plaintext.
    const temporalSecurity = config.TEMPORAL_ADDRESS ? config.temporalSecurity : {};
    const { client, connection } = await connectClient(temporalAddress, config.TEMPORAL_NAMESPACE, payloadCodecFor(config), temporalSecurity);
    stops.push(() => connection.close());
    const workerMetrics = installWorkerRuntime({ log, metricsHost: config.HOST, metricsPort: config.WORKER_METRICS_PORT });
    const workerConnection = await connectWorker(temporalAddress, temporalSecurity);
    stops.push(() => workerConnection.close());
    const worker = await createCaseWorker({ config, connection: workerConnection, pool });
    const workerDone = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await workerDone;
    });
    workerDone.catch((err) => {
      log.fatal({ err: (err as Error).message }, 'worker failed');
      void shutdown(1);
    });

    const api = await startApi({ config, pool, temporal: client, log });
    stops.push(() => closeServer(api.server));
    const firstLogin = await ensureFirstAdmin(pool, dataDir);

    const lines = [
      `Gongjian is ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  Console      ${api.url}/console/ (first login: ${firstLogin})`,
      `  API          ${api.url}`,
      `  API docs     ${api.url}/docs`,
      `  OpenAPI      ${api.url}/openapi.json`,
      `  Metrics      ${api.url}/metrics (API), ${workerMetrics ? `http://${workerMetrics}/metrics` : 'off'} (worker)`,
      `  Temporal UI  ${uiUrl ?? '(external cluster: use its own UI)'}`,
      `  Temporal     ${temporalAddress} (namespace ${config.TEMPORAL_NAMESPACE}, task queue ${config.TEMPORAL_TASK_QUEUE})`,
      `  Postgres     ${config.DATABASE_URL ? 'DATABASE_URL' : `embedded, data in ${join(dataDir, 'pg')}`}`,
      `  Admin key    ${adminKeyNote}`,
      `  Payload key  ${payloadKeyNote} (Temporal payloads are AES-256-GCM encrypted)`,
      `  Codec        ${api.url}/codec; to see decrypted payloads in the Temporal UI, sign in at ${api.url}/codec/login`,
      'Press Ctrl-C to stop.',
    ];
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
  } catch (err) {
    if (err instanceof ConfigError) console.error(err.message);
    else log.fatal({ err: (err as Error).message }, 'start-up failed');
    await shutdown(1);
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
