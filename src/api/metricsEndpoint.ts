/**
 * `/metrics` tells whoever asks the routes, volumes, error rates and the process's memory.
 * It is served on the API port only when no separate listener is configured, and behind a
 * bearer token whenever METRICS_BEARER is set (Prometheus: `authorization.credentials`).
 * Production with neither serves no metrics at all (and says so at start-up).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { HttpProblem, sendProblem } from './problem';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsHandler(registry: Registry, bearer: string | undefined): RequestHandler {
  const expected = bearer ? digest(bearer) : null;
  return async (req, res) => {
    if (expected) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
      // Compare digests, so the comparison takes the same time whatever the length presented.
      if (!match || !timingSafeEqual(digest(match[1]), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        return sendProblem(res, new HttpProblem(401, 'Unauthorized', 'send the metrics token (METRICS_BEARER) as Authorization: Bearer <token>'));
      }
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/** Whether /metrics is served on the API's own port. */
export function metricsOnApiPort(config: { APP_ENV: string; METRICS_PORT?: number; METRICS_BEARER?: string }): boolean {
  if (config.METRICS_PORT !== undefined) return false;
  return config.APP_ENV !== 'production' || config.METRICS_BEARER !== undefined;
}

/** The separate metrics listener's app (METRICS_PORT): /metrics and nothing else. */
export function metricsOnlyApp(handler: RequestHandler): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', handler);
  app.use((_req, res) => sendProblem(res, new HttpProblem(404, 'Not found', 'this listener serves /metrics only')));
  return app;
}
