/**
 * Starts `temporal server start-dev` (the real Temporal server, SQLite or in-memory) as a
 * child process for `npm start` and the test global setup, waits until its frontend
 * answers, and makes sure the case search attributes are registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export interface DevTemporalServer {
  /** gRPC frontend, `host:port`, for `Connection.connect` / `NativeConnection.connect`. */
  address: string;
  /** Temporal Web UI, or null when started headless. */
  uiUrl: string | null;
  stop(): Promise<void>;
}

export interface StartTemporalDevServerOptions {
  cliPath: string;
  /** SQLite file for persistent state; undefined keeps everything in memory. */
  dbFile?: string;
  /** Default 127.0.0.1. */
  ip?: string;
  /** Default 7233; 0 picks a free port. */
  port?: number;
  /** Default port + 1000 (a free port when `port` is 0); 0 picks a free port; null = no UI. */
  uiPort?: number | null;
  /** Default 'default'. */
  namespace?: string;
  /** Name to CLI type name, e.g. `{ CaseType: 'Keyword', Overdue: 'Bool' }`. */
  searchAttributes: Readonly<Record<string, string>>;
  /** Server output is appended here; discarded when undefined. */
  logFile?: string;
  uiCodecEndpoint?: string;
  log?: (msg: string) => void;
}

const READY_TIMEOUT_MS = 60_000;
const PROBE_INTERVAL_MS = 200;
const PROBE_DEADLINE_MS = 2_000;
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL_CHARS = 4_000;

/** CLI `--search-attribute` type names and the matching server enum. */
const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const SEARCH_ATTRIBUTE_TYPES: Readonly<Record<string, temporal.api.enums.v1.IndexedValueType>> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** A TCP port that was free a moment ago (the OS picks it). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts with ports picked by the OS can lose a port to another process before the server binds it; so many tries. */
const AUTO_PORT_TRIES = 3;

export async function startTemporalDevServer(opts: StartTemporalDevServerOptions): Promise<DevTemporalServer> {
  // A port found free a moment ago may be taken before the server binds it (an outgoing
  // connection's ephemeral port; the CLI picks its internal ports the same way): with ports
  // of our choosing, a server that dies before it is ready is started again on fresh ones.
  const tries = opts.port === 0 ? AUTO_PORT_TRIES : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= tries || !(err instanceof ExitedEarlyError)) throw err;
      opts.log?.(`Temporal dev server exited while starting (try ${attempt} of ${tries}); starting it again on other ports`);
    }
  }
}

class ExitedEarlyError extends Error {}

async function startOnce(opts: StartTemporalDevServerOptions): Promise<DevTemporalServer> {
  const log = opts.log ?? (() => undefined);
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  assertKnownSearchAttributeTypes(opts.searchAttributes);

  const port = await resolvePort(opts.port ?? 7233, ip);
  await assertPortFree(ip, port, `port ${port} is in use: is another Temporal server running? set TEMPORAL_ADDRESS to use it`);
  const uiPort = await resolveUiPort(opts, ip, port);
  if (uiPort !== null) {
    await assertPortFree(ip, uiPort, `port ${uiPort} (Temporal Web UI) is in use: stop what listens there or choose another UI port`);
  }
  if (opts.dbFile) await mkdir(path.dirname(opts.dbFile), { recursive: true });

  const args = startDevArgs({ ...opts, ip, port, uiPort, namespace });
  log(`starting Temporal dev server on ${ip}:${port} (${opts.dbFile ? `SQLite ${opts.dbFile}` : 'in-memory'})`);
  const startedAt = Date.now();
  const server = await spawnServer(opts.cliPath, args, opts.logFile);
  const address = `${clientHost(ip)}:${port}`;
  try {
    const connection = await waitUntilReady(address, namespace, server);
    try {
      await ensureSearchAttributes(connection, namespace, opts.searchAttributes, log);
    } finally {
      await connection.close();
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  log(`Temporal dev server ready at ${address} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  return {
    address,
    uiUrl: uiPort === null ? null : `http://${clientHost(ip)}:${uiPort}`,
    stop: server.stop,
  };
}

async function resolvePort(requested: number, ip: string): Promise<number> {
  return requested === 0 ? findFreePort(ip) : requested;
}

async function resolveUiPort(opts: StartTemporalDevServerOptions, ip: string, port: number): Promise<number | null> {
  if (opts.uiPort === null) return null;
  // port + 1000 mirrors the CLI default; for a random gRPC port it could collide or overflow.
  if (opts.uiPort === undefined && opts.port !== 0) return port + 1000;
  if (opts.uiPort !== undefined && opts.uiPort !== 0) return opts.uiPort;
  let uiPort = await findFreePort(ip);
  while (uiPort === port) uiPort = await findFreePort(ip);
  return uiPort;
}

function assertPortFree(ip: string, port: number, messageWhenBusy: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(messageWhenBusy) : new Error(`cannot listen on ${ip}:${port}: ${err.message}`));
    });
    probe.listen(port, ip, () => probe.close(() => resolve()));
  });
}

function assertKnownSearchAttributeTypes(attributes: Readonly<Record<string, string>>): void {
  for (const [name, type] of Object.entries(attributes)) {
    if (!(type in SEARCH_ATTRIBUTE_TYPES)) {
      throw new Error(
        `search attribute ${name} has unknown type "${type}": use one of ${Object.keys(SEARCH_ATTRIBUTE_TYPES).join(', ')}`,
      );
    }
  }
}

/** The wildcard addresses are for binding; clients connect through loopback. */
function clientHost(ip: string): string {
  if (ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '[::1]';
  return ip.includes(':') ? `[${ip}]` : ip;
}

interface ResolvedArgs extends StartTemporalDevServerOptions {
  ip: string;
  port: number;
  uiPort: number | null;
  namespace: string;
}

function startDevArgs(opts: ResolvedArgs): string[] {
  const args = ['server', 'start-dev', '--ip', opts.ip, '--port', String(opts.port), '--log-level', 'warn'];
  args.push(...(opts.uiPort === null ? ['--headless'] : ['--ui-port', String(opts.uiPort), '--ui-disable-news-fetch']));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  // 'default' always exists; naming it again is harmless but noisy.
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const [name, type] of Object.entries(opts.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  const dynamicConfig = {
    // Updates are on by default since server 1.25; pinned so human/partner steps never hit "operation is disabled".
    'frontend.enableUpdateWorkflowExecution': 'true',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted': 'true',
    // Attributes added after start are usable at once instead of after a cache refresh.
    'system.forceSearchAttributesCacheRefreshOnRead': 'true',
  };
  for (const [key, value] of Object.entries(dynamicConfig)) args.push('--dynamic-config-value', `${key}=${value}`);
  return args;
}

interface ServerProcess {
  /** Settles when the process has exited, with what the process printed last. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

async function spawnServer(cliPath: string, args: string[], logFile: string | undefined): Promise<ServerProcess> {
  const output = logFile ? await fileOutput(logFile) : pipedOutput();
  const command = withParentDeathSignal(cliPath, args);
  // Not detached: the server shares our process group, so Ctrl-C reaches it too.
  const child = spawn(command.file, command.args, { stdio: ['ignore', output.stdout, output.stderr] });
  output.afterSpawn(child);

  // Best effort against orphans when we exit without stop(); SIGTERM lets SQLite close cleanly.
  const terminateOnParentExit = (): void => {
    child.kill('SIGTERM');
  };
  process.on('exit', terminateOnParentExit);

  let exitedFlag = false;
  const exited = new Promise<string>((resolve) => {
    const finish = (reason: string): void => {
      if (exitedFlag) return;
      exitedFlag = true;
      process.removeListener('exit', terminateOnParentExit);
      void output.tail().then((tail) => resolve(`${reason}${tail ? `; last output:\n${tail}` : ''}`));
    };
    child.once('error', (err) => finish(`could not run ${cliPath}: ${err.message}`));
    child.once('exit', (code, signal) => finish(signal ? `killed by ${signal}` : `exited with code ${code}`));
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child, exited, () => exitedFlag);
    return stopping;
  };
  return { exited, stop };
}

/**
 * An orphaned dev server keeps port 7233 and breaks the next `npm start`. On Linux,
 * util-linux `setpriv --pdeathsig` (which execs in place, keeping the pid) makes the kernel
 * send SIGTERM when we die, even by SIGKILL; elsewhere the 'exit' hook is the fallback.
 */
function withParentDeathSignal(file: string, args: string[]): { file: string; args: string[] } {
  if (process.platform !== 'linux') return { file, args };
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));
  return setpriv ? { file: setpriv, args: ['--pdeathsig', 'TERM', '--', file, ...args] } : { file, args };
}

async function stopChild(child: ChildProcess, exited: Promise<string>, hasExited: () => boolean): Promise<void> {
  if (hasExited()) return;
  child.kill('SIGTERM');
  const forceKill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(forceKill);
  }
}

interface ServerOutput {
  stdout: 'ignore' | 'pipe' | number;
  stderr: 'pipe' | number;
  afterSpawn(child: ChildProcess): void;
  tail(): Promise<string>;
}

/** The child writes straight into the log file, so logging never depends on our event loop. */
async function fileOutput(logFile: string): Promise<ServerOutput> {
  await mkdir(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const startOffset = (await stat(logFile)).size;
  return {
    stdout: fd,
    stderr: fd,
    afterSpawn: () => closeSync(fd),
    tail: async () => readTail(logFile, startOffset),
  };
}

/** Without a log file only stderr (where the server logs) is kept, and only its tail. */
function pipedOutput(): ServerOutput {
  let tail = '';
  return {
    stdout: 'ignore',
    stderr: 'pipe',
    afterSpawn: (child) =>
      child.stderr?.on('data', (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
      }),
    tail: async () => tail.trim(),
  };
}

async function readTail(file: string, fromOffset: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(fromOffset, size - OUTPUT_TAIL_CHARS);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8').trim();
  } finally {
    await handle.close();
  }
}

/**
 * Polls until the frontend serves the namespace (not merely accepts TCP), so callers can
 * start workflows right away. Fails fast if the process dies, with its last output.
 */
async function waitUntilReady(address: string, namespace: string, server: ServerProcess): Promise<Connection> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const exitedEarly = server.exited.then((reason) => ({ exitedEarly: reason }) as const);
  let lastError: unknown;
  for (;;) {
    const probe = probeFrontend(address, namespace);
    const outcome = await Promise.race([
      probe.then(
        (connection) => ({ connection }) as const,
        (error: unknown) => ({ error }) as const,
      ),
      exitedEarly,
    ]);
    if ('connection' in outcome) return outcome.connection;
    if ('exitedEarly' in outcome) {
      void probe.then((connection) => connection.close(), () => undefined);
      throw new ExitedEarlyError(`Temporal dev server stopped before it was ready: ${outcome.exitedEarly}`);
    }
    lastError = outcome.error;
    if (Date.now() > deadline) {
      throw new Error(
        `Temporal dev server at ${address} was not ready after ${READY_TIMEOUT_MS / 1000} s ` +
          `(last error: ${lastError instanceof Error ? lastError.message : String(lastError)}); ` +
          `check its log, or set TEMPORAL_ADDRESS to use a server you started yourself`,
      );
    }
    await Promise.race([delay(PROBE_INTERVAL_MS), exitedEarly]);
  }
}

async function probeFrontend(address: string, namespace: string): Promise<Connection> {
  const connection = await Connection.connect({ address, connectTimeout: PROBE_DEADLINE_MS });
  try {
    await connection.withDeadline(Date.now() + PROBE_DEADLINE_MS, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
    return connection;
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/**
 * `--search-attribute` only registers attributes on a fresh store; an existing SQLite file
 * from before an attribute was added needs it added through the operator API.
 */
async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  wanted: Readonly<Record<string, string>>,
  log: (msg: string) => void,
): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const registered = customAttributes ?? {};
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const [name, typeName] of Object.entries(wanted)) {
    const type = SEARCH_ATTRIBUTE_TYPES[typeName]!;
    const existing = registered[name];
    if (existing === undefined) {
      missing[name] = type;
    } else if (existing !== type) {
      throw new Error(
        `search attribute ${name} is registered as ${cliTypeName(existing)} in namespace ${namespace}, ` +
          `but ${typeName} is needed: delete the dev server's database file to start fresh, or rename the attribute`,
      );
    }
  }
  if (Object.keys(missing).length === 0) return;
  log(`registering search attributes ${Object.keys(missing).join(', ')} in namespace ${namespace}`);
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}

function cliTypeName(type: temporal.api.enums.v1.IndexedValueType): string {
  return Object.keys(SEARCH_ATTRIBUTE_TYPES).find((name) => SEARCH_ATTRIBUTE_TYPES[name] === type) ?? IndexedValueType[type];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
