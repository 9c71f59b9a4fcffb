/**
 * The system under measurement, assembled exactly as `npm start` / `npm run api` /
 * `npm run worker` assemble it (startApi, connectClient with the payload codec,
 * createCaseWorker), against the bench services. Plus the raw SDK pieces the baselines use.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Client, Connection, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../../src/config';
import type { Pool } from '../../src/db/pool';
import { SA } from '../../src/domain/searchAttributes';
import type { ServiceRequestIntake, ServiceRequestState, ServiceRequestWorkflowInput } from '../../src/domain/serviceRequest';
import type { ServiceRequestSlaSnapshot } from '../../src/domain/sla';
import { closeServer, startApi } from '../../src/server';
import { payloadCodecFor } from '../../src/temporal/codec';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import { createCaseWorker } from '../../src/worker';
import { serviceRequestWorkflowId } from '../../src/workflows/messages';
import { ADMIN_KEY, type BenchServices, benchLogger, benchPool } from './services';

export interface ApiSystem {
  url: string;
  config: Config;
  pool: Pool;
  /** The API's own client (payload codec on), as in production. */
  client: Client;
  call<T = any>(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: T }>;
  createKey(role: 'staff' | 'supervisor' | 'partner', extra?: Record<string, unknown>): Promise<string>;
  /** Connections the API's pool has handed out so far (one per statement through pool.query, one per transaction). */
  checkouts(): number;
  /** Write out buffered request-log lines. */
  flushLog(): Promise<void>;
  stop(): Promise<void>;
}

/** `requestLog`: a file for the API's request log lines (each has the server-side `ms`); /dev/null by default. */
export async function startApiSystem(services: BenchServices, config: Config, requestLog?: string): Promise<ApiSystem> {
  const pool = benchPool(services, config.PG_POOL_MAX);
  let checkouts = 0;
  pool.on('acquire', () => { checkouts++; });
  const { client, connection } = await connectClient(services.temporalAddress, config.TEMPORAL_NAMESPACE, payloadCodecFor(config));
  const log = benchLogger('api', requestLog);
  const { server, url } = await startApi({ config, pool, temporal: client, log });
  const call: ApiSystem['call'] = async (method, path, key, body) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    url, config, pool, client, call, checkouts: () => checkouts, flushLog: () => new Promise<void>((resolve) => log.flush(() => resolve())),
    async createKey(role, extra = {}) {
      const res = await call<{ key: string }>('POST', '/v1/api-keys', ADMIN_KEY, { role, name: `bench ${role}`, ...extra });
      if (res.status !== 201) throw new Error(`could not create a ${role} key: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.key;
    },
    async stop() {
      await closeServer(server as Server);
      await connection.close();
      await pool.end();
    },
  };
}

/** The case worker of production (createCaseWorker: codec, activities, options), in this process. */
export async function startCaseWorker(services: BenchServices, config: Config, pool: Pool): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const connection: NativeConnection = await connectWorker(services.temporalAddress);
  const worker = await createCaseWorker({ config, connection, pool });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** A bare SDK client: no payload codec, no interceptors. */
export async function plainClient(services: BenchServices): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: services.temporalAddress });
  return { client: new Client({ connection, namespace: 'default' }), close: () => connection.close() };
}

export const benchIntake = (community: string, i = 0): ServiceRequestIntake => ({
  resident: {
    name: '王秀英', phone: '138 0013 8000', community, compound: '幸福里小区', grid: '网格-3',
    address: `幸福里 ${1 + (i % 40)} 号楼 2 单元 301`, flags: ['elderly_alone'],
  },
  category: 'housing',
  description: '楼道灯坏了，老人晚上下楼不方便，请物业尽快维修。',
  urgency: 'normal',
  channel: 'home_visit',
});

/** What POST /v1/service-requests passes to client.workflow.start, built without the API. */
export function rawStart(client: Client, taskQueue: string, sla: ServiceRequestSlaSnapshot, intake: ServiceRequestIntake) {
  return async () => {
    const caseId = randomUUID();
    const input: ServiceRequestWorkflowInput = { caseId, intake, sla, openedBy: 'staff:bench', openedAt: new Date().toISOString() };
    await client.workflow.start<(i: ServiceRequestWorkflowInput) => Promise<ServiceRequestState>>('serviceRequest', {
      workflowId: serviceRequestWorkflowId(caseId), taskQueue, args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SA.caseType, value: 'service_request' },
        { key: SA.caseStatus, value: 'dispatching' },
        { key: SA.category, value: intake.category },
        { key: SA.community, value: intake.resident.community },
      ],
    });
    return caseId;
  };
}
