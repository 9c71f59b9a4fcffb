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
const OURS = /^(APP_ENV|HOST|PORT|LOG_LEVEL|TEMPORAL_|DATABASE_URL|PG_POOL_MAX|DATA_DIR|ADMIN_API_KEY|WEBHOOK_|PAYLOAD_ENCRYPTION_KEYS|RATE_LIMIT_|WORKFLOW_BUNDLE_PATH|WORKER_METRICS_PORT|SHUTDOWN_GRACE_MS)$/;

/**
 * `workers` worker processes and `apis` API processes (default: the run's `--scale`, else 1 each)
 * share the dev server and the database; the ApiClient balances over the API processes.
 * `sys.worker` / `sys.apiProcess` are the first of each; `startWorker(i)` / `startApi(i)` (re)start the i-th.
 *
 * @param {{ run: { dir: string, dist: string, bundlePath: string, cliPath: string, pg: any, runId: string, scale?: number },
 *           name: string, env?: Record<string,string>, workers?: number, apis?: number }} opts
 */
async function startSystem({ run, name, env: extraEnv = {}, workers: workerCount = run.scale ?? 1, apis: apiCount = run.scale ?? 1 }) {
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
  const apiPorts = [];
  for (let i = 0; i < apiCount; i++) {
    let port = await findFreePort();
    while (apiPorts.includes(port)) port = await findFreePort();
    apiPorts.push(port);
  }
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
    APP_ENV: 'test', HOST: '127.0.0.1', PORT: String(apiPorts[0]), LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: `chaos-${name}`, DATABASE_URL: databaseUrl,
    ADMIN_API_KEY: adminKey, PAYLOAD_ENCRYPTION_KEYS: `chaos:${payloadKey.toString('base64')}`,
    WEBHOOK_SECRET_KEYS: `chaos-w:${randomBytes(32).toString('base64')}`,
    WORKFLOW_BUNDLE_PATH: run.bundlePath, WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8', WEBHOOK_TIMEOUT_MS: '5000',
    RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', SHUTDOWN_GRACE_MS: '5000', PG_POOL_MAX: '10',
    ...extraEnv,
  };
  const urlOf = (port) => `http://127.0.0.1:${port}`;
  const starts = { worker: 0, api: 0 };
  const apiUrls = () => apiPorts.map(urlOf);
  const sys = {
    name, dir, url: urlOf(apiPorts[0]), urls: apiUrls(), adminKey, env, databaseUrl,
    api: new ApiClient(apiUrls()),
    pool: new Pool({ connectionString: databaseUrl, max: 4 }),
    readModelQuery: messages.getReadModelState ?? null,
    /** Every worker and API process, by index; a restart replaces its entry. */
    workers: [],
    apiProcesses: [],
    get worker() { return sys.workers[0] ?? null; },
    get apiProcess() { return sys.apiProcesses[0] ?? null; },
    async startWorker(i = 0) {
      const label = workerCount > 1 ? `worker${i + 1}` : 'worker';
      // Each worker process its own metrics port (the default 9464 would be taken by the first, or by anyone's on this machine).
      const metricsPort = await findFreePort();
      sys.workers[i] = await startWorker({
        dist, env: { ...env, TEMPORAL_ADDRESS: temporal.address, WORKER_METRICS_PORT: String(metricsPort) }, logFile: join(dir, `${label}-${++starts.worker}.log`),
      });
      return sys.workers[i];
    },
    async startApi(i = 0) {
      const label = apiCount > 1 ? `api${i + 1}` : 'api';
      sys.apiProcesses[i] = await startApiProcess({
        dist, env: { ...env, PORT: String(apiPorts[i]), LOG_LEVEL: 'warn' }, logFile: join(dir, `${label}-${++starts.api}.log`), url: urlOf(apiPorts[i]),
      });
      return sys.apiProcesses[i];
    },
    /** Stop the dev server (SIGTERM: SQLite closes cleanly) and return a function that starts it again. */
    async stopTemporal() {
      await temporal.stop();
    },
    async startTemporal() {
      temporal = await startTemporal();
    },
    async stop() {
      await Promise.allSettled([...sys.workers, ...sys.apiProcesses].map((p) => p?.stop(10_000)));
      await sys.connection?.close().catch(() => undefined);
      await sys.pool.end().catch(() => undefined);
      await temporal.stop().catch(() => undefined);
    },
  };
  sys.pool.on('error', () => undefined);
  for (let i = 0; i < workerCount; i++) await sys.startWorker(i);
  for (let i = 0; i < apiCount; i++) {
    for (let tries = 1; ; tries++) {
      try {
        await sys.startApi(i);
        break;
      } catch (err) {
        if (tries >= 3 || !/before it was ready/.test(String(err))) throw err;
        let port = await findFreePort();
        while (apiPorts.includes(port)) port = await findFreePort();
        apiPorts[i] = port;
      }
    }
  }
  env.PORT = String(apiPorts[0]);
  sys.url = urlOf(apiPorts[0]);
  sys.urls = apiUrls();
  sys.api = new ApiClient(sys.urls);
  sys.connection = await Connection.connect({ address: temporal.address });
  sys.temporal = new Client({ connection: sys.connection, dataConverter: { payloadCodecs: [new AesGcmPayloadCodec([{ id: 'chaos', key: payloadKey }])] } });
  return sys;
}

module.exports = { startSystem };
