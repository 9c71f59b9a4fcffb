'use strict';
/**
 * One scenario's running system, as separate OS processes: the Temporal CLI dev server on its
 * own SQLite file, a database on the run's throwaway Postgres cluster, `node dist/worker.js`
 * and `node dist/server.js`. Each can be killed and started again on the same port and data.
 */
const { randomBytes, randomUUID } = require('node:crypto');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { Client, Connection } = require('@temporalio/client');
const { Pool } = require('pg');
const { startApiProcess, startWorker } = require('./processes');
const { ApiClient } = require('./http');

/** Variables of the developer's shell that would point the processes elsewhere. */
const OURS = /^(APP_ENV|HOST|PORT|LOG_LEVEL|TEMPORAL_|DATABASE_URL|PG_POOL_MAX|DATA_DIR|ADMIN_API_KEY|WEBHOOK_|PAYLOAD_ENCRYPTION_KEYS|RATE_LIMIT_|WORKFLOW_BUNDLE_PATH|SHUTDOWN_GRACE_MS)$/;

/**
 * @param {{ run: { dir: string, dist: string, bundlePath: string, cliPath: string, pg: any, runId: string },
 *           name: string, env?: Record<string,string> }} opts
 */
async function startSystem({ run, name, env: extraEnv = {} }) {
  const { dist } = run;
  const { startTemporalDevServer, findFreePort } = require(join(dist, 'dev/temporalDevServer.js'));
  const { CASE_SEARCH_ATTRIBUTES } = require(join(dist, 'domain/searchAttributes.js'));
  const { AesGcmPayloadCodec } = require(join(dist, 'temporal/codec.js'));
  const messages = require(join(dist, 'workflows/messages.js'));

  const dir = join(run.dir, name);
  mkdirSync(dir, { recursive: true });
  const databaseUrl = await run.pg.createDatabase(`chaos_${name.replace(/\W/g, '_')}`);
  // The first start picks the port (and starts again on another if it is taken meanwhile); restarts reuse it.
  let temporalPort = 0;
  // Found free now, it may be taken before the API binds it (an outgoing connection's ephemeral port): the first
  // start moves to another port then; restarts keep it, since clients know it.
  let apiPort = await findFreePort();
  const dbFile = join(dir, 'temporal.db');
  const startTemporal = () => startTemporalDevServer({
    cliPath: run.cliPath, dbFile, port: temporalPort, uiPort: null,
    searchAttributes: { ...CASE_SEARCH_ATTRIBUTES }, logFile: join(dir, 'temporal.log'),
  });
  let temporal = await startTemporal();
  temporalPort = Number(temporal.address.slice(temporal.address.lastIndexOf(':') + 1));

  const adminKey = `chaos-admin-${randomUUID()}`;
  const payloadKey = randomBytes(32);
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OURS.test(k)));
  const env = {
    ...baseEnv,
    APP_ENV: 'test', HOST: '127.0.0.1', PORT: String(apiPort), LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: `chaos-${name}`, DATABASE_URL: databaseUrl,
    ADMIN_API_KEY: adminKey, PAYLOAD_ENCRYPTION_KEYS: `chaos:${payloadKey.toString('base64')}`,
    WEBHOOK_SECRET_KEYS: `chaos-w:${randomBytes(32).toString('base64')}`,
    WORKFLOW_BUNDLE_PATH: run.bundlePath, WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8', WEBHOOK_TIMEOUT_MS: '5000',
    RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', SHUTDOWN_GRACE_MS: '5000', PG_POOL_MAX: '10',
    ...extraEnv,
  };
  const urlOf = (port) => `http://127.0.0.1:${port}`;
  let workers = 0;
  let apis = 0;
  const sys = {
    name, dir, url: urlOf(apiPort), adminKey, env, databaseUrl,
    api: new ApiClient(urlOf(apiPort)),
    pool: new Pool({ connectionString: databaseUrl, max: 4 }),
    readModelQuery: messages.getReadModelState ?? null,
    worker: null,
    apiProcess: null,
    async startWorker() {
      sys.worker = await startWorker({ dist, env: { ...env, TEMPORAL_ADDRESS: temporal.address }, logFile: join(dir, `worker-${++workers}.log`) });
      return sys.worker;
    },
    async startApi() {
      sys.apiProcess = await startApiProcess({ dist, env: { ...env, LOG_LEVEL: 'warn' }, logFile: join(dir, `api-${++apis}.log`), url: sys.url });
      return sys.apiProcess;
    },
    /** Stop the dev server (SIGTERM: SQLite closes cleanly) and return a function that starts it again. */
    async stopTemporal() {
      await temporal.stop();
    },
    async startTemporal() {
      temporal = await startTemporal();
    },
    async stop() {
      await Promise.allSettled([sys.worker?.stop(10_000), sys.apiProcess?.stop(10_000)]);
      await sys.connection?.close().catch(() => undefined);
      await sys.pool.end().catch(() => undefined);
      await temporal.stop().catch(() => undefined);
    },
  };
  sys.pool.on('error', () => undefined);
  await sys.startWorker();
  for (let tries = 1; ; tries++) {
    try {
      await sys.startApi();
      break;
    } catch (err) {
      if (tries >= 3 || !/before it was ready/.test(String(err))) throw err;
      apiPort = await findFreePort();
      env.PORT = String(apiPort);
      sys.url = urlOf(apiPort);
      sys.api = new ApiClient(sys.url);
    }
  }
  sys.connection = await Connection.connect({ address: temporal.address });
  sys.temporal = new Client({ connection: sys.connection, dataConverter: { payloadCodecs: [new AesGcmPayloadCodec([{ id: 'chaos', key: payloadKey }])] } });
  return sys;
}

module.exports = { startSystem };
