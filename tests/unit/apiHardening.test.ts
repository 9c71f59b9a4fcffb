/**
 * What the fuzzer (npm run fuzz) and the chaos suite (npm run chaos) found at the API's edges:
 * each answer here was a 500 or a 404 before.
 */
import express from 'express';
import request from 'supertest';
import { WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { defineUpdate } from '@temporalio/workflow';
import { problemMiddleware } from '../../src/api/problem';
import { ApiRoutes } from '../../src/api/routing';
import { CreateApiKey, Instant } from '../../src/api/schemas';
import { runUpdate } from '../../src/api/workflowCalls';
import { z } from '../../src/api/zod';

function appWith(routes: ApiRoutes) {
  const app = express();
  app.use(express.json());
  routes.mount(app, async () => ({ keyId: 'k', role: 'admin', partnerId: null, communities: null }));
  app.use(problemMiddleware({ error: () => undefined }));
  return app;
}

describe('the API edges', () => {
  const routes = new ApiRoutes();
  routes.add({
    method: 'post', path: '/things/:id', operationId: 'echoThing', tag: 't', roles: ['admin'], summary: 'echo',
    params: z.object({ id: z.string() }), body: z.object({ note: z.string(), tags: z.array(z.string()).optional() }).optional(),
    responses: { 200: { description: 'ok' }, 409: { description: 'not now' } },
    handler: async ({ body }) => ({ status: 200, body: body ?? {} }),
  });
  const app = appWith(routes);

  it('refuses a NUL character anywhere in the input with a 400 naming where (Postgres cannot store it)', async () => {
    const res = await request(app).post('/things/1').send({ note: 'ok', tags: ['fine', 'bad\u0000'] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.tags.1', message: 'must not contain the NUL character (U+0000)' }]);
    expect((await request(app).post('/things/a%00b').send({ note: 'x' })).status).toBe(400);
  });

  it('answers 405 with Allow for a known path asked with another method', async () => {
    const res = await request(app).delete('/things/1');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect((await request(app).get('/elsewhere')).status).toBe(404);
  });

  it('documents an optional body as not required, 404 for routes with path parameters, every error as a problem', () => {
    const doc = routes.openApiDocument({ title: 't', version: '1', description: 'd' }) as any;
    const op = doc.paths['/things/{id}'].post;
    expect(op.requestBody.required).toBe(false);
    expect(op.responses['404'].content['application/problem+json']).toBeDefined();
    expect(op.responses['409'].content['application/problem+json']).toBeDefined();
  });

  it('takes instants with any valid offset and hands them on in UTC', () => {
    expect(Instant.parse('2026-03-12T02:53:50-18:07')).toBe('2026-03-12T21:00:50.000Z');
    expect(Instant.safeParse('0000-01-01T00:00:00+23:59').success).toBe(false);
    expect(CreateApiKey.safeParse({ role: 'staff', name: 'n', expiresAt: '2999-01-01T00:00:00+20:00' }).success).toBe(true);
  });

  it('answers 503 (retry later) when no worker took an update before the deadline', async () => {
    const client = { withDeadline: async () => { throw new WorkflowUpdateRPCTimeoutOrCancelledError('Call cancelled'); } } as never;
    const err = await runUpdate(client, 'wf', defineUpdate<string, [number]>('u'), 1, 'case x', async () => null).catch((e) => e);
    expect(err.status).toBe(503);
    expect(err.headers['Retry-After']).toBeDefined();
  });
});
