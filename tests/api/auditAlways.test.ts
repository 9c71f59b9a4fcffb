/**
 * Audit that cannot be skipped: a client that hangs up before the answer, requests refused by
 * the guards in front of the routes (413, 415, 429, malformed JSON), and reads of personal data
 * are all in the audit log.
 */
import { randomUUID } from 'node:crypto';
import { request, type Server } from 'node:http';
import type { Pool } from 'pg';
import { createLogger } from '../../src/logger';
import { closeServer, startApi } from '../../src/server';
import { eventually } from '../support/eventually';
import { startExtraApi } from '../support/extraApi';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

interface Row { key_id: string | null; method: string; path: string; case_id: string | null; status: number; kind: string; client_aborted: boolean }
const rowsSince = async (since: Date, where = 'true', values: unknown[] = []): Promise<Row[]> => (await sys.pool.query<Row>(
  `SELECT key_id, method, path, case_id, status, kind, client_aborted FROM audit_log WHERE at >= $1 AND ${where} ORDER BY id`, [since, ...values])).rows;

it('audits a write whose client hung up before the answer, once the handler has done it', async () => {
  // Registering a partner takes 400 ms here (a slow INSERT), so the client is gone before the answer.
  const slowPool = new Proxy(sys.pool, {
    get: (target, prop) => (prop === 'query'
      ? async (text: unknown, values?: unknown[]) => {
        if (typeof text === 'string' && text.startsWith('INSERT INTO partners')) await new Promise((r) => setTimeout(r, 400));
        return target.query(text as string, values);
      }
      : Reflect.get(target, prop)),
  }) as Pool;
  const { server, url } = await startApi({ config: sys.config, pool: slowPool, temporal: sys.client, log: createLogger('silent', 'slow-api') });
  try {
    const since = new Date();
    const name = `挂断测试-${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify({ name, kind: 'enterprise', categories: ['food'], communities: [sys.community], capacity: 0 });
    await new Promise<void>((resolve) => {
      const req = request(`${url}/v1/partners`, {
        method: 'POST', headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('error', () => resolve());
      req.end(body, () => setTimeout(() => { req.destroy(); resolve(); }, 100));
    });
    // The handler went on and registered it ...
    await eventually(async () => (await sys.pool.query('SELECT 1 FROM partners WHERE name = $1', [name])).rowCount, { accept: (n) => n === 1, what: 'the partner' });
    // ... and the audit log says so.
    const rows = await eventually(() => rowsSince(since, `path = '/v1/partners'`), { accept: (r) => r.length > 0, what: 'the audit row' });
    expect(rows).toEqual([expect.objectContaining({ method: 'POST', status: 201, kind: 'write', client_aborted: true, key_id: 'bootstrap-admin' })]);
  } finally {
    await closeServer(server as Server);
  }
});

it('audits requests refused before any route: 413, 415, malformed JSON and 429', async () => {
  const api = await startExtraApi(sys, { RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_PER_IP_PER_MINUTE: '1000' });
  try {
    const since = new Date();
    const post = (body: string, type: string) => fetch(`${api.url}/v1/partners`, { method: 'POST', headers: { authorization: `Bearer ${sys.adminKey}`, 'content-type': type }, body });
    expect((await post(JSON.stringify({ name: 'x'.repeat(1_100_000) }), 'application/json')).status).toBe(413);
    expect((await post('name=x', 'text/plain')).status).toBe(415);
    const key = await sys.createKey('staff');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api.call('GET', '/v1/sla-policies', { key })).status);
    expect(statuses).toEqual([200, 200, 429]);
    const malformed = await fetch(`${api.url}/v1/sla-policies`, { method: 'PUT', headers: { authorization: `Bearer ${await sys.createKey('supervisor')}`, 'content-type': 'application/json' }, body: '{"caseType":' });
    expect(malformed.status).toBe(400);

    const refused = await eventually(() => rowsSince(since, `kind = 'refused'`), { accept: (r) => r.length >= 4, what: 'the refused requests' });
    expect(refused.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /v1/partners 413', 'POST /v1/partners 415', 'GET /v1/sla-policies 429', 'PUT /v1/sla-policies 400',
    ]);
    // The two GETs that were answered read no personal data: not audited.
    expect(await rowsSince(since, `path = '/v1/sla-policies' AND status = 200`)).toEqual([]);
  } finally {
    await api.stop();
  }
});

it('audits reads of personal data: a case by id (allowed or refused) and a codec decode', async () => {
  const staff = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'reader' } });
  const outsider = await sys.createKey('staff', { communities: ['别处'] });
  const created = await sys.call('POST', '/v1/service-requests', {
    key: staff.body.key,
    body: { resident: { name: '李四', phone: '13800006666', community: sys.community }, category: 'housing', description: '门坏了', urgency: 'normal', channel: 'phone' },
  });
  const caseId = created.body.id as string;
  const since = new Date();
  expect((await sys.call('GET', `/v1/service-requests/${caseId}`, { key: staff.body.key })).status).toBe(200);
  expect((await sys.call('GET', `/v1/service-requests/${caseId}`, { key: outsider })).status).toBe(403);
  expect((await sys.call('GET', '/v1/partners', { key: staff.body.key })).status).toBe(200);
  expect((await sys.call('POST', '/codec/decode', { body: { payloads: [] } })).status).toBe(200);

  const reads = await eventually(() => rowsSince(since, `kind = 'read'`), { accept: (r) => r.length >= 3, what: 'the reads' });
  expect(reads).toEqual([
    expect.objectContaining({ method: 'GET', path: `/v1/service-requests/${caseId}`, case_id: caseId, key_id: staff.body.id, status: 200 }),
    expect.objectContaining({ method: 'GET', path: `/v1/service-requests/${caseId}`, case_id: caseId, status: 403 }),
    expect.objectContaining({ method: 'POST', path: '/codec/decode', key_id: 'bootstrap-admin', status: 200 }),
  ]);
  expect(await rowsSince(since, `path = '/v1/partners'`)).toEqual([]);
  // And GET /v1/audit shows them, with their kind.
  const listed = await sys.call('GET', `/v1/audit?caseId=${caseId}&limit=10`);
  expect(listed.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'GET', kind: 'read', clientAborted: false })]));
});
