/**
 * The Temporal SDK runtime of a worker process: the SDK's Prometheus exporter on its own
 * port (workflow task and activity latency, schedule-to-start, slots, sticky cache, and the
 * domain counters the activities add through the same meter), and the SDK's logs, Core's
 * included, through pino as JSON with the same redaction as every other log line.
 *
 * Must run before the first NativeConnection or Worker is made: the runtime is a singleton
 * that the SDK otherwise creates with its defaults.
 */
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from '../logger';

const PINO_METHOD: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error',
};

/** The SDK's Logger interface over pino: metadata becomes fields, so the redaction paths apply to it. */
export class PinoSdkLogger implements SdkLogger {
  constructor(private readonly pino: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.pino[PINO_METHOD[level] ?? 'info']({ ...(meta ?? {}) }, message);
  }
  trace(message: string, meta?: LogMetadata): void { this.log('TRACE', message, meta); }
  debug(message: string, meta?: LogMetadata): void { this.log('DEBUG', message, meta); }
  info(message: string, meta?: LogMetadata): void { this.log('INFO', message, meta); }
  warn(message: string, meta?: LogMetadata): void { this.log('WARN', message, meta); }
  error(message: string, meta?: LogMetadata): void { this.log('ERROR', message, meta); }
}

export interface WorkerRuntimeOptions {
  log: Logger;
  /** Where the Prometheus exporter listens; port 0 turns it off. */
  metricsHost: string;
  metricsPort: number;
}

/** What Core itself logs: its warnings, or more when the process logs at debug. */
const coreFilter = (log: Logger) => (['debug', 'trace'].includes(log.level)
  ? { core: 'INFO' as const, other: 'WARN' as const }
  : { core: 'WARN' as const, other: 'ERROR' as const });

/**
 * Install the runtime. A metrics port already taken (a second worker on the same machine)
 * costs the metrics, not the worker: it starts without them and says so.
 * Returns the metrics address, or null when metrics are off.
 */
export function installWorkerRuntime(o: WorkerRuntimeOptions): string | null {
  const logger = new PinoSdkLogger(o.log);
  const logging = { filter: coreFilter(o.log), forward: {} };
  if (o.metricsPort === 0) {
    Runtime.install({ logger, telemetryOptions: { logging } });
    return null;
  }
  const bindAddress = `${o.metricsHost}:${o.metricsPort}`;
  try {
    Runtime.install({ logger, telemetryOptions: { logging, metrics: { prometheus: { bindAddress, countersTotalSuffix: true } } } });
    return bindAddress;
  } catch (err) {
    if (Runtime._instance) throw err; // installed already: a programming error, not a busy port
    o.log.warn({ err: (err as Error).message, bindAddress }, 'worker metrics exporter could not start; running without it (set WORKER_METRICS_PORT)');
    Runtime.install({ logger, telemetryOptions: { logging } });
    return null;
  }
}
