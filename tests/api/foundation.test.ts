/**
 * The foundation through the real API: a real Temporal dev server, a real Postgres, a real
 * worker. Conventions of docs/api.md: auth, problem+json, limits, keys, partners, intake.
 */
import { randomUUID } from 'node:crypto';
import { startExtraApi } from '../support/extraApi';
import { eventually } from '../support/eventually';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

const resident = () => ({ name: '王大爷', phone: '13800000000', community: sys.community, grid: 'G3', flags: ['elderly_alone'] });
const intake = () => ({ resident: resident(), category: 'housing', description: '家里停电了', urgency: 'urgent', channel: 'phone' });

describe('operations endpoints', () => {
  it('answers health without a key, readiness with both dependencies checked', async () => {
    expect((await sys.call('GET', '/healthz', { key: '' })).body).toEqual({ status: 'ok' });
    const ready = await sys.call('GET', '/readyz', { key: '' });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: 'ok', temporal: 'ok' });
  });

  it('serves an OpenAPI 3.1 document naming every route, and the docs page', async () => {
    const doc = await sys.call('GET', '/openapi.json', { key: '' });
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining([
      '/v1/service-requests', '/v1/service-requests/{id}', '/v1/service-requests/{id}/accept', '/v1/partners/{id}',
      '/v1/api-keys', '/v1/cases/{id}/history', '/v1/sla-policies', '/v1/audit',
    ]));
    expect(doc.body.paths['/v1/service-requests'].post.requestBody.content['application/json'].schema).toBeDefined();
    const docs = await fetch(`${sys.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('counts requests by route and status in /metrics', async () => {
    await sys.call('GET', '/healthz', { key: '' });
    const text = (await sys.call('GET', '/metrics', { key: '' })).body as string;
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('authentication and errors', () => {
  it('refuses a missing or unknown key with 401 problem+json', async () => {
    const none = await sys.call('GET', '/v1/partners', { key: '' });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    expect(none.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect((await sys.call('GET', '/v1/partners', { key: 'gj_not-a-key' })).status).toBe(401);
  });

  it('refuses a role that may not act with 403', async () => {
    const staff = await sys.createKey('staff');
    const res = await sys.call('POST', '/v1/api-keys', { key: staff, body: { role: 'admin', name: 'x' } });
    expect(res.status).toBe(403);
  });

  it('names each invalid field, rejects unknown fields, malformed JSON and oversized bodies', async () => {
    const staff = await sys.createKey('staff');
    const bad = await sys.call('POST', '/v1/service-requests', { key: staff, body: { ...intake(), category: 'spaceflight', extra: 1 } });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.category', 'body']));
    expect(bad.body.errors.find((e: { path: string }) => e.path === 'body').message).toContain('extra');

    const malformed = await sys.call('POST', '/v1/service-requests', { key: staff, raw: '{"resident":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].path).toBe('body');

    const huge = await sys.call('POST', '/v1/service-requests', { key: staff, body: { ...intake(), description: 'x'.repeat(1_100_000) } });
    expect(huge.status).toBe(413);
  });

  it('answers unknown routes and unknown cases with 404', async () => {
    expect((await sys.call('GET', '/v1/nothing')).status).toBe(404);
    expect((await sys.call('GET', '/v1/service-requests/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await sys.call('GET', '/v1/cases/00000000-0000-0000-0000-000000000000/history')).status).toBe(404);
  });
});

describe('API keys', () => {
  it('creates a key shown once and stored hashed, lists it, and revokes it', async () => {
    const created = await sys.call('POST', '/v1/api-keys', { body: { role: 'supervisor', name: '南湖街道', communities: [sys.community] } });
    expect(created.status).toBe(201);
    const { id, key } = created.body;
    const stored = await sys.pool.query('SELECT key_hash FROM api_keys WHERE id = $1', [id]);
    expect(stored.rows[0].key_hash).not.toContain(key);
    expect(stored.rows[0].key_hash).toHaveLength(64);

    expect((await sys.call('GET', '/v1/sla-policies', { key })).status).toBe(200);
    const list = await sys.call('GET', '/v1/api-keys?limit=500');
    const listed = list.body.items.find((k: { id: string }) => k.id === id);
    expect(listed).toMatchObject({ role: 'supervisor', communities: [sys.community], revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(key);

    expect((await sys.call('DELETE', `/v1/api-keys/${id}`)).status).toBe(200);
    expect((await sys.call('GET', '/v1/sla-policies', { key })).status).toBe(401);
  });

  it('refuses an expired key', async () => {
    const created = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'temp', expiresAt: new Date(Date.now() + 1500).toISOString() } });
    expect(created.status).toBe(201);
    await sys.pool.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [created.body.id]);
    const res = await sys.call('GET', '/v1/partners', { key: created.body.key });
    expect(res.status).toBe(401);
    expect(res.body.detail).toContain('expired');
  });
});

describe('partners', () => {
  it('registers, reads, filters and deactivates a partner without ever returning its secret', async () => {
    const created = await sys.call('POST', '/v1/partners', {
      body: { name: '南湖物业', kind: 'property_company', categories: ['housing', 'daily_goods'], communities: [sys.community], grids: ['G3'], capacity: 3, webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 'super-secret-value-123', hours: '24h' },
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain('super-secret-value-123');
    const id = created.body.id;
    expect((await sys.call('GET', `/v1/partners/${id}`)).body).toMatchObject({ name: '南湖物业', grids: ['G3'], active: true });
    const filtered = await sys.call('GET', `/v1/partners?community=${encodeURIComponent(sys.community)}&category=daily_goods`);
    expect(filtered.body.items.map((p: { id: string }) => p.id)).toEqual([id]);
    const patched = await sys.call('PATCH', `/v1/partners/${id}`, { body: { active: false } });
    expect(patched.body.active).toBe(false);
    const inactive = await sys.call('GET', `/v1/partners?community=${encodeURIComponent(sys.community)}&active=false`);
    expect(inactive.body.items.map((p: { id: string }) => p.id)).toContain(id);
  });

  it('validates kinds, categories, departments and webhook URLs', async () => {
    const res = await sys.call('POST', '/v1/partners', {
      body: { name: '税务', kind: 'department', categories: ['taxes'], communities: [], capacity: 1, webhookUrl: 'ftp://x', webhookSecret: 'short' },
    });
    expect(res.status).toBe(400);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.categories.0', 'body.webhookUrl', 'body.webhookSecret']));
    const noDept = await sys.call('POST', '/v1/partners', {
      body: { name: '税务', kind: 'department', categories: [], communities: [], capacity: 1, webhookUrl: 'http://127.0.0.1:9/x', webhookSecret: 'long-enough-secret-1' },
    });
    expect(noDept.status).toBe(400);
    expect(noDept.body.errors[0].path).toBe('body.department');
  });
});

describe('intake (the first slice)', () => {
  it('opens a case whose workflow records the intake in the read model', async () => {
    const staff = await sys.createKey('staff');
    const res = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'dispatching', category: 'housing', urgency: 'urgent', resident: { name: '王大爷' } });
    const id = res.body.id;

    const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`)).body, {
      accept: (h) => Array.isArray(h) && h.length > 0, what: 'the intake event',
    });
    expect(history[0]).toMatchObject({ seq: 1, type: 'intake', actor: expect.stringMatching(/^staff:/), data: { category: 'housing', urgency: 'urgent' } });
    const row = await sys.pool.query('SELECT type, category, community, workflow_id FROM cases WHERE id = $1', [id]);
    expect(row.rows[0]).toEqual({ type: 'service_request', category: 'housing', community: sys.community, workflow_id: `service-request:${id}` });

    const read = await sys.call('GET', `/v1/service-requests/${id}`, { key: staff });
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(id);
  });

  it('honours Idempotency-Key: same body -> the same case (200), another body -> 409, from any API process', async () => {
    const staff = await sys.createKey('staff');
    const headers = { 'Idempotency-Key': `intake-${randomUUID()}` };
    const first = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake(), headers });
    const again = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake(), headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await sys.call('POST', '/v1/service-requests', { key: staff, body: { ...intake(), description: '别的事' }, headers });
    expect(other.status).toBe(409);
    expect(other.body.caseId).toBe(first.body.id);
    // Another API process (no state shared but Temporal) gives the same answers.
    const api2 = await startExtraApi(sys, {});
    try {
      const elsewhere = await api2.call('POST', '/v1/service-requests', { key: staff, body: intake(), headers });
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.body.id).toBe(first.body.id);
      expect((await api2.call('POST', '/v1/service-requests', { key: staff, body: { ...intake(), description: '第三件事' }, headers })).status).toBe(409);
    } finally {
      await api2.stop();
    }
    // The same Idempotency-Key under another API key is another request.
    const otherStaff = await sys.createKey('staff');
    const theirs = await sys.call('POST', '/v1/service-requests', { key: otherStaff, body: intake(), headers });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
  });

  it('answers a retry after the case has ended with that case, not a new one', async () => {
    const staff = await sys.createKey('staff');
    const headers = { 'Idempotency-Key': `ended-${randomUUID()}` };
    const first = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake(), headers });
    expect(first.status).toBe(201);
    const cancelled = await sys.call('POST', `/v1/service-requests/${first.body.id}/cancel`, { key: staff, body: { reason: '居民已自行解决' } });
    expect(cancelled.status).toBe(200);
    await eventually(async () => (await sys.client.workflow.getHandle(`service-request:${first.body.id}`).describe()).status.name, {
      accept: (s) => s !== 'RUNNING', what: 'the workflow to end',
    });
    const retry = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake(), headers });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id: first.body.id, status: 'cancelled' });
  });

  it('keeps staff limited to their communities', async () => {
    const scoped = await sys.createKey('staff', { communities: ['另一个社区'] });
    const res = await sys.call('POST', '/v1/service-requests', { key: scoped, body: intake() });
    expect(res.status).toBe(403);
  });

  it('records every state-changing request in the audit log', async () => {
    const staff = await sys.createKey('staff');
    const res = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake() });
    const audit = await eventually(async () => (await sys.call('GET', `/v1/audit?caseId=${res.body.id}`)).body.items, {
      accept: (items: unknown[]) => items.length > 0, what: 'audit entry',
    });
    expect(audit[0]).toMatchObject({ method: 'POST', path: '/v1/service-requests', role: 'staff', status: 201, caseId: res.body.id });
  });
});
