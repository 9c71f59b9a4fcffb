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

/**
 * `destination` defaults to stdout; tests pass a stream to read what would be logged. The
 * process is named in `service`: pino's own `name` key would fall under the redaction of a
 * resident's `name`.
 */
export function createLogger(level: string, service: string, destination?: pino.DestinationStream) {
  return pino({
    level, base: { service, pid: process.pid, hostname: hostname() }, redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  }, destination);
}

export type Logger = ReturnType<typeof createLogger>;
