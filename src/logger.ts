import { hostname } from 'node:os';
import pino from 'pino';

/**
 * Structured logs. PII and secrets never belong in logs; these paths are redacted in case
 * a payload slips into a log call anyway.
 */
export const REDACT_PATHS = [
  'req.headers.authorization', 'headers.authorization', 'authorization', '*.authorization', 'key', 'apiKey', '*.apiKey',
  'req.headers.cookie', 'headers.cookie', 'cookie', 'webhookSecret', '*.webhookSecret', 'secret',
  'resident.name', 'resident.phone', 'resident.address', '*.resident.name', '*.resident.phone', '*.resident.address',
  'applicants[*].name', 'applicants[*].idNumber', 'applicants[*].phone', '*.applicants[*].name', '*.applicants[*].idNumber',
  '*.applicants[*].phone', 'phone', 'idNumber', 'name', 'address', '*.phone', '*.idNumber', '*.address',
];

/** Bytes a log stream gathers before one write, and the longest a line waits for others. */
export const LOG_BUFFER_BYTES = 4096;
export const LOG_FLUSH_MS = 250;

/**
 * Log lines gathered into one write of up to LOG_BUFFER_BYTES, written at the latest after
 * LOG_FLUSH_MS and on exit. One write per line was a syscall per request on the API's
 * request log, the largest single cost of logging an intake (BENCHMARKS.md, issue 17). What a
 * SIGKILL can lose is the last LOG_FLUSH_MS of lines; the audit log (Postgres) is the record
 * of who did what, not these lines.
 */
const buffered = new Set<ReturnType<typeof pino.destination>>();
let flushTimer: NodeJS.Timeout | null = null;

export function bufferedDestination(dest: number | string = 1): pino.DestinationStream {
  const stream = pino.destination({ dest, sync: false, minLength: LOG_BUFFER_BYTES });
  buffered.add(stream);
  if (!flushTimer) {
    // One timer and one exit hook for every buffered stream of the process.
    flushTimer = setInterval(() => {
      for (const s of buffered) try { s.flush(); } catch { /* not open yet, or closed */ }
    }, LOG_FLUSH_MS);
    flushTimer.unref();
    process.once('exit', () => {
      for (const s of buffered) try { s.flushSync(); } catch { /* nothing to write, or not open */ }
    });
  }
  stream.on('close', () => buffered.delete(stream));
  return stream;
}

/**
 * `destination` defaults to stdout, buffered (bufferedDestination); tests pass a stream to read what would be logged. The
 * process is named in `service`: pino's own `name` key would fall under the redaction of a
 * resident's `name`.
 */
export function createLogger(level: string, service: string, destination?: pino.DestinationStream) {
  return pino({
    level, base: { service, pid: process.pid, hostname: hostname() }, redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  }, destination ?? bufferedDestination(1));
}

export type Logger = ReturnType<typeof createLogger>;
