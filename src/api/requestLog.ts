/**
 * One log line per request: method, route pattern, status, duration and the key id. Never
 * the raw URL (ids and filters), bodies or headers, so no resident data or key can get in.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../logger';
import type { Principal } from './auth';

export function requestLogMiddleware(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const principal = res.locals.principal as Principal | undefined;
      log.info({
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
