/** The Express app: security headers, body limits, metrics, audit, the routes of docs/api.md, problem+json errors. */
import express, { type Express } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { mountConsole } from '../console/serve';
import { isConnectionError } from '../db/pool';
import { auditMiddleware, AuditWriter } from './audit';
import { createAuthenticator } from './auth';
import type { ApiDeps } from './deps';
import { refuseDeepJson } from './jsonDepth';
import { createMetrics } from './metrics';
import { apiDocument } from './openapi/document';
import { metricsHandler, metricsOnApiPort, metricsOnlyApp } from './metricsEndpoint';
import { expressTrustProxy } from '../deployment/trustProxy';
import { rateLimitMiddleware } from './rateLimit';
import { requestLogMiddleware } from './requestLog';
import { HttpProblem, problemMiddleware, sendProblem, unavailable } from './problem';
import { apiKeyRoutes } from './routes/apiKeys';
import { auditRoutes } from './routes/audit';
import { calendarRoutes } from './routes/calendars';
import { carePlanRoutes } from './routes/carePlans';
import { caseRoutes } from './routes/cases';
import { codecCors, codecRoutes } from './routes/codec';
import { escalationContactRoutes } from './routes/escalationContacts';
import { escalationRoutes } from './routes/escalations';
import { extensionRequestRoutes } from './routes/extensionRequests';
import { orderLinkRoutes } from './routes/orderLinks';
import { partnerOrderRoutes } from './routes/partnerOrders';
import { partnerRoutes } from './routes/partners';
import { registrationRoutes } from './routes/registrations';
import { serviceRequestRoutes } from './routes/serviceRequests';
import { sessionRoutes } from './routes/session';
import { userRoutes } from './routes/users';
import { createSessionAuthenticator } from './session';
import { slaPolicyRoutes } from './routes/slaPolicies';
import { supervisionRoutes } from './routes/supervision';
import { trackRoutes } from './routes/track';
import { importRoutes } from './routes/imports';
import { open311Routes } from './routes/open311';
import { withTrackingCodes } from '../intake/trackingIntake';
import { trackingCodeWriter } from '../db/trackingCodes';
import { intakeBodies, isIntakeBody } from '../intake/uploads';
import { ApiRoutes } from './routing';
import { z } from './zod';

export const API_INFO = {
  title: 'Gongjian (共建) case orchestration API',
  version: '0.1.0',
  description: 'Resident requests, registration cases and care plans as durable Temporal workflows. Authenticate with `Authorization: Bearer <api key>`.',
};

/** Every route of the API, declared once (used by the app, the OpenAPI document and the role-matrix test). */
export function buildRoutes(deps: ApiDeps): ApiRoutes {
  const routes = new ApiRoutes();
  opsRoutes(routes, deps);
  apiKeyRoutes(routes, deps);
  auditRoutes(routes, deps);
  partnerRoutes(routes, deps);
  partnerOrderRoutes(routes, deps);
  slaPolicyRoutes(routes, deps);
  calendarRoutes(routes, deps);
  escalationContactRoutes(routes, deps);
  escalationRoutes(routes, deps);
  serviceRequestRoutes(routes, deps);
  registrationRoutes(routes, deps);
  carePlanRoutes(routes, deps);
  caseRoutes(routes, deps);
  supervisionRoutes(routes, deps);
  codecRoutes(routes, deps);
  trackRoutes(routes, deps);
  importRoutes(routes, deps);
  open311Routes(routes, deps);
  userRoutes(routes, deps);
  sessionRoutes(routes, deps);
  orderLinkRoutes(routes, deps);
  extensionRequestRoutes(routes, deps);
  withTrackingCodes(routes, deps.pool, trackingCodeWriter(deps.pool, deps.log)); // last: it wraps the intake routes declared above
  return routes;
}

function opsRoutes(routes: ApiRoutes, { pool, temporal }: ApiDeps): void {
  routes.add({
    method: 'get', path: '/healthz', operationId: 'getHealth', tag: 'ops', roles: 'public', summary: 'The process is up',
    responses: { 200: { description: 'up', schema: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 200, body: { status: 'ok' } }),
  });
  routes.add({
    method: 'get', path: '/readyz', operationId: 'getReadiness', tag: 'ops', roles: 'public', summary: 'Temporal and Postgres are reachable (else 503)',
    responses: { 200: { description: 'ready', schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.string()) }) } },
    handler: async () => {
      const [db, tmp] = await Promise.allSettled([
        pool.query('SELECT 1'),
        temporal.withDeadline(Date.now() + 3000, () => temporal.workflowService.getSystemInfo({})),
      ]);
      const checks = { postgres: db.status === 'fulfilled' ? 'ok' : 'unreachable', temporal: tmp.status === 'fulfilled' ? 'ok' : 'unreachable' };
      if (db.status === 'rejected' || tmp.status === 'rejected') {
        const down = Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k).join(' and ');
        throw new HttpProblem(503, 'Not ready', `${down} unreachable`, { checks }, { 'Retry-After': '5' });
      }
      return { status: 200, body: { status: 'ready', checks } };
    },
  });
}

/** `flush`: write out what the app still holds (audit rows), after the server has stopped taking requests. */
export function createApp(deps: ApiDeps): { app: Express; routes: ApiRoutes; flush(): Promise<void>; metricsApp: Express | null } {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', expressTrustProxy(deps.config.trustProxy)); // TRUST_PROXY, docs/deployment.md
  const metrics = createMetrics();
  const routes = buildRoutes(deps);
  const openapi = apiDocument(routes, API_INFO);
  const authenticator = createAuthenticator(deps.pool, deps.config.adminApiKeys, deps.config.API_KEY_CACHE_MS);

  app.use(metrics.middleware);
  app.use(requestLogMiddleware(deps.log));
  // First of the guards, so a request they refuse (429, 413, 415, malformed JSON) is audited too.
  const audit = new AuditWriter(deps.pool, deps.log);
  app.use(auditMiddleware(audit));
  // Before the rate limit, so a browser can read a 429 from the codec too.
  app.use('/codec', codecCors(deps.config.temporalUiOrigins));
  app.use(rateLimitMiddleware({ perKeyPerMinute: deps.config.RATE_LIMIT_PER_MINUTE, perIpPerMinute: deps.config.RATE_LIMIT_PER_IP_PER_MINUTE }));
  const serveMetrics = metricsHandler(metrics.registry, deps.config.METRICS_BEARER);
  // With METRICS_PORT, /metrics lives on its own listener (server.ts) and is a 404 here; production
  // never serves it unguarded on the API port (docs/deployment.md).
  if (metricsOnApiPort(deps.config)) app.get('/metrics', serveMetrics);
  app.get('/openapi.json', (_req, res) => { res.json(openapi); });
  // Swagger UI needs inline styles and its own scripts; relax CSP on /docs only.
  app.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: API_INFO.title }));
  app.use(helmet());
  mountConsole(app);
  app.use(intakeBodies()); // CSV/.xlsx on the import routes, form posts on Open311 only (docs/intake.md)
  app.use(express.json({ limit: '1mb', strict: true, type: ['application/json', 'application/*+json'], verify: refuseDeepJson }));
  app.use((req, _res, next) => {
    // A write must say it sends JSON; anything else is refused rather than silently ignored.
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && req.headers['content-length'] !== '0' && req.headers['content-type'] && !req.is('application/json') && !req.is('application/*+json') && !isIntakeBody(req)) {
      return next(new HttpProblem(415, 'Unsupported media type', 'send the body as application/json'));
    }
    next();
  });
  // A person's session cookie is the second way to a Principal; an API key, when sent, wins.
  const sessions = createSessionAuthenticator(deps.pool);
  routes.mount(app, async (req) => {
    try {
      return (await sessions(req)) ?? await authenticator(req.header('authorization'));
    } catch (err) {
      if (isConnectionError(err)) throw unavailable('the key store is unreachable; retry shortly');
      throw err;
    }
  });
  app.use((req, res) => {
    // Under /open311 even a path no route matches answers in GeoReport v2's own error array.
    if (req.path.startsWith('/open311/')) return res.status(404).json([{ code: 404, description: `no such Open311 resource: ${req.method} ${req.path}` }]);
    sendProblem(res, new HttpProblem(404, 'Not found', `no route ${req.method} ${req.path}`));
  });
  app.use(problemMiddleware(deps.log));
  return { app, routes, flush: async () => { await Promise.all([audit.flush(), trackingCodeWriter(deps.pool).flush()]); }, metricsApp: deps.config.METRICS_PORT === undefined ? null : metricsOnlyApp(serveMetrics) };
}
