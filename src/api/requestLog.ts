/**
 * One log line per request: method, route pattern, status, duration and the key id. Never
 * the raw URL (ids and filters), bodies or headers, so no resident data or key can get in.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import type { Principal } from './auth';

export function requestLogMiddleware(log: Logger): RequestHandler {
  // The line's five fields are fixed: an HTTP method, a route pattern of our own table (or
  // `unmatched`), two numbers and a key id; none is a redacted path (src/logger.ts). So the
  // line skips the redaction pass, which walked every redact path for every field of every
  // request (about 4% of the API's CPU per intake, BENCHMARKS.md). Same logger, same stream,
  // same bindings; every other log line is still redacted.
  const lines = log.child({}, { redact: [] });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const principal = res.locals.principal as Principal | undefined;
      lines.info({
        method: req.method,
        route: (res.locals.route as string | undefined) ?? 'unmatched',
        status: res.statusCode,
        ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
        keyId: principal?.keyId,
      }, 'request');
    });
    next();
  };
}
