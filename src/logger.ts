import pino from 'pino';

/**
 * Structured logs. PII and secrets never belong in logs; these paths are redacted in case
 * a payload slips into a log call anyway.
 */
export const REDACT_PATHS = [
  'req.headers.authorization', 'headers.authorization', 'authorization', 'key', 'apiKey', 'webhookSecret',
  'resident.name', 'resident.phone', 'resident.address', '*.resident.name', '*.resident.phone', '*.resident.address',
  'applicants[*].name', 'applicants[*].idNumber', 'applicants[*].phone', 'phone', 'idNumber', 'name',
];

export function createLogger(level: string, name: string) {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type Logger = ReturnType<typeof createLogger>;
