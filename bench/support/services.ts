/**
 * What every throughput bench starts for itself: a Temporal CLI dev server (in memory, a
 * free port, the case search attributes) and a fresh database on the local Postgres server
 * (migrated, dropped at the end), plus the production-shaped configuration the API and
 * the worker run with (encrypted payloads, request logs at info, rate limiter on).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { Client } from 'pg';
import { type Config, loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool, type Pool } from '../../src/db/pool';
import { startTemporalDevServer } from '../../src/dev/temporalDevServer';
import { resolveTemporalCli } from '../../src/dev/tools';
import { CASE_SEARCH_ATTRIBUTES } from '../../src/domain/searchAttributes';
import { bufferedDestination, createLogger, type Logger } from '../../src/logger';

export const PROJECT_ROOT = resolve(__dirname, '../..');
/** The local Postgres server; each bench run creates its own database there. */
export const BENCH_PG_SERVER = process.env.BENCH_PG_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
export const ADMIN_KEY = `bench-admin-${randomBytes(12).toString('hex')}`;
/** One payload key for the whole run: the API, the in-process workers and the worker process share it. */
export const PAYLOAD_KEYS = `bench1:${randomBytes(32).toString('base64')}`;

export const out = (line = '') => process.stdout.write(`${line}\n`);

export interface BenchServices {
  temporalAddress: string;
  /** Pid of the Temporal server process, for its CPU time. */
  temporalPid: number | null;
  databaseUrl: string;
  /** Name of the run's database (its backends' CPU is attributed to Postgres). */
  databaseName: string;
  /** Scratch directory of this run (server log, profiles, bundles). */
  dir: string;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Keep the SDK's own logs out of the bench output unless they are warnings. */
export function quietTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const none = () => undefined;
  Runtime.install({
    logger: { log: none, trace: none, debug: none, info: none, warn: (m: string) => process.stderr.write(`[temporal] ${m}\n`), error: (m: string) => process.stderr.write(`[temporal] ${m}\n`) } as never,
  });
}

export async function startBenchServices(label: string): Promise<BenchServices> {
  quietTemporalRuntime();
  const dir = join(tmpdir(), `gongjian-bench-${label}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const cliPath = await resolveTemporalCli({ projectRoot: PROJECT_ROOT, log: (m) => out(`[bench] ${m}`) });
  const dbName = `gongjian_bench_${label}_${process.pid}_${Date.now()}`;
  const [temporal] = await Promise.all([
    startTemporalDevServer({ cliPath, port: 0, uiPort: null, searchAttributes: { ...CASE_SEARCH_ATTRIBUTES }, logFile: join(dir, 'temporal.log') }),
    adminQuery(`CREATE DATABASE "${dbName}"`),
  ]);
  const databaseUrl = `${BENCH_PG_SERVER}/${dbName}`;
  const pool = createPool(databaseUrl, 1);
  await migrate(pool);
  await pool.end();
  const port = Number(temporal.address.slice(temporal.address.lastIndexOf(':') + 1));
  return {
    temporalAddress: temporal.address,
    temporalPid: findPid(`--port ${port} `),
    databaseUrl,
    databaseName: dbName,
    dir,
    async stop() {
      await temporal.stop();
      await adminQuery(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((err) => out(`[bench] could not drop ${dbName}: ${(err as Error).message}`));
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: `${BENCH_PG_SERVER}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The configuration of production (APP_ENV=production), against the bench services. */
export function benchConfig(services: BenchServices, env: Record<string, string> = {}): Config {
  return loadConfig({
    APP_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: services.temporalAddress, DATABASE_URL: services.databaseUrl, ADMIN_API_KEY: ADMIN_KEY,
    PAYLOAD_ENCRYPTION_KEYS: PAYLOAD_KEYS, WEBHOOK_SECRET_KEYS: PAYLOAD_KEYS.replace(/^[^:]+/, 'bench-w'),
    // The partner simulators listen on loopback.
    WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8',
    // The limiter runs, but the bench's single staff key must not be throttled.
    RATE_LIMIT_PER_MINUTE: '100000000', RATE_LIMIT_PER_IP_PER_MINUTE: '100000000',
    ...env,
  });
}

/** A production logger (info, redaction on) writing to /dev/null or a file: its cost counts, its lines do not clutter the output. */
export function benchLogger(name: string, file = '/dev/null'): Logger {
  return createLogger('info', name, bufferedDestination(file));
}

export function benchPool(services: BenchServices, max = 10): Pool {
  return createPool(services.databaseUrl, max);
}

/** The pid of the process whose command line contains `needle` (best effort, Linux /proc). */
export function findPid(needle: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && cmd.includes('start-dev')) return Number(entry);
    } catch { /* gone */ }
  }
  return null;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds used so far by the Postgres backends serving `database` (their process titles
 * name it). Backends that exit between two readings take their share with them, so this
 * is a lower bound; pools keep their connections during a phase, which keeps it close.
 */
export function postgresCpuSeconds(database: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.includes(` ${database} `)) total += processCpuSeconds(Number(entry));
    } catch { /* gone */ }
  }
  return total;
}

/** CPU seconds of this process (all threads). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds used by this process and by the Temporal server during `run`. */
export interface CpuSpent { seconds: number; ownCpu: number; temporalCpu: number; postgresCpu: number }

/** Wall time, and CPU seconds used by this process, the Temporal server and the run's Postgres backends during `run`. */
export async function withCpu<T>(services: BenchServices, run: () => Promise<T>): Promise<{ result: T } & CpuSpent> {
  const own0 = ownCpuSeconds();
  const tmp0 = processCpuSeconds(services.temporalPid);
  const pg0 = postgresCpuSeconds(services.databaseName);
  const t0 = process.hrtime.bigint();
  const result = await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    result, seconds, ownCpu: ownCpuSeconds() - own0, temporalCpu: processCpuSeconds(services.temporalPid) - tmp0,
    postgresCpu: Math.max(0, postgresCpuSeconds(services.databaseName) - pg0),
  };
}

/** Wait until the Temporal server has worked off what the last phase left it (visibility, timers): < 15% of a core for 1 s, at most `maxMs`. */
export async function settle(services: BenchServices, maxMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const before = processCpuSeconds(services.temporalPid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const busy = processCpuSeconds(services.temporalPid) - before;
    if (!(busy > 0.15) || Date.now() - started > maxMs) return (Date.now() - started) / 1000;
  }
}

/** Event-loop delay of this process's main thread during `run` (what a request waits before its code even starts). */
export async function withEventLoopDelay<T>(run: () => Promise<T>): Promise<{ result: T; p99Ms: number; maxMs: number }> {
  const { monitorEventLoopDelay } = require('node:perf_hooks') as typeof import('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    const result = await run();
    return { result, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 };
  } finally {
    h.disable();
  }
}

export function machine(): string {
  const os = require('node:os') as typeof import('node:os');
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load avg ${load}, ${new Date().toISOString()}`;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Run `task(i)` for i in [0, n) with at most `concurrency` in flight. */
export async function pooled(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(lanes);
}
