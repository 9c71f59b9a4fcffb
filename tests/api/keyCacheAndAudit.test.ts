/**
 * The two per-request savings of the API (BENCHMARKS.md, intake): keys trusted for
 * API_KEY_CACHE_MS after a lookup, and audit rows written in groups. Against the real
 * Postgres of the run; the clock of the key cache is a test clock.
 */
import type { Pool } from 'pg';
import { AuditWriter } from '../../src/api/audit';
import { createAuthenticator, forgetApiKey, type Principal } from '../../src/api/auth';
import { createLogger } from '../../src/logger';
import { eventually } from '../support/eventually';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

async function newKey(extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'cache test', ...extra } });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

const outcome = (p: Promise<Principal>) => p.then((principal) => principal.keyId, (err: Error & { status?: number }) => `${err.status}: ${err.message}`);

describe('API key cache', () => {
  it('trusts a key for the cache period, then sees a revocation made elsewhere', async () => {
    let now = 1_000_000;
    const authenticate = createAuthenticator(sys.pool, [], 5000, () => now);
    const { id, key } = await newKey();
    expect(await outcome(authenticate(`Bearer ${key}`))).toBe(id);
    // Revoked by another API process: this one does not know yet.
    await sys.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);
    now += 4999;
    expect(await outcome(authenticate(`Bearer ${key}`))).toBe(id);
    now += 2;
    expect(await outcome(authenticate(`Bearer ${key}`))).toMatch(/^401: .*revoked/);
    // Refusals are not cached either way: still refused on the next request.
    expect(await outcome(authenticate(`Bearer ${key}`))).toMatch(/^401/);
  });

  it('forgets a key revoked through this process at once', async () => {
    const authenticate = createAuthenticator(sys.pool, [], 60_000);
    const { id, key } = await newKey();
    expect(await outcome(authenticate(`Bearer ${key}`))).toBe(id);
    await sys.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);
    forgetApiKey(sys.pool, id);
    expect(await outcome(authenticate(`Bearer ${key}`))).toMatch(/^401/);
  });

  it('revoking through the API refuses the key on the next request', async () => {
    const { id, key } = await newKey();
    expect((await sys.call('GET', '/v1/sla-policies', { key })).status).toBe(200);
    expect((await sys.call('DELETE', `/v1/api-keys/${id}`)).status).toBe(200);
    expect((await sys.call('GET', '/v1/sla-policies', { key })).status).toBe(401);
  });

  it('ends a cached key at its own expiry, not at the end of the cache period', async () => {
    const expiresAt = Date.now() + 60_000;
    let now = Date.now();
    const authenticate = createAuthenticator(sys.pool, [], 600_000, () => now);
    const { id, key } = await newKey({ expiresAt: new Date(expiresAt).toISOString() });
    expect(await outcome(authenticate(`Bearer ${key}`))).toBe(id);
    now = expiresAt - 1;
    expect(await outcome(authenticate(`Bearer ${key}`))).toBe(id);
    now = expiresAt;
    expect(await outcome(authenticate(`Bearer ${key}`))).toMatch(/^401: .*expired/);
  });

  it('with API_KEY_CACHE_MS=0 asks Postgres on every request', async () => {
    const authenticate = createAuthenticator(sys.pool, [], 0);
    const { id, key } = await newKey();
    expect(await outcome(authenticate(`Bearer ${key}`))).toBe(id);
    await sys.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);
    expect(await outcome(authenticate(`Bearer ${key}`))).toMatch(/^401/);
  });
});

describe('audit writer', () => {
  const log = createLogger('silent', 'audit-test');
  const row = (path: string, i: number) => ({ at: new Date(), keyId: 'audit-test', role: 'staff', method: 'POST', path, caseId: `case-${i}`, status: 201 });
  const written = async (path: string) => (await sys.pool.query<{ case_id: string }>('SELECT case_id FROM audit_log WHERE path = $1 ORDER BY id', [path])).rows.map((r) => r.case_id);

  it('writes the rows that arrive together in one INSERT, none lost, in order', async () => {
    const path = `/test/group-${Date.now()}`;
    const inserts: number[] = [];
    const pool = new Proxy(sys.pool, {
      get: (target, prop) => (prop === 'query'
        ? (text: string, values: unknown[][]) => { inserts.push(values[0].length); return target.query(text, values); }
        : Reflect.get(target, prop)),
    }) as Pool;
    const writer = new AuditWriter(pool, log);
    for (let i = 0; i < 100; i++) writer.add(row(path, i));
    // Written without a flush, within the linger time.
    const rows = await eventually(() => written(path), { accept: (r) => r.length === 100, what: 'the 100 rows' });
    expect(rows).toEqual(Array.from({ length: 100 }, (_, i) => `case-${i}`));
    expect(inserts).toEqual([100]);
    // A large burst goes in batches of at most 500, the last written by flush (as on shutdown).
    for (let i = 100; i < 1300; i++) writer.add(row(path, i));
    await writer.flush();
    expect((await written(path)).length).toBe(1300);
    expect(inserts.slice(1).every((n) => n <= 500)).toBe(true);
    expect(inserts.reduce((a, b) => a + b, 0)).toBe(1300);
  });

  it('keeps the rows of a failed write and writes them when Postgres answers again', async () => {
    const path = `/test/outage-${Date.now()}`;
    let down = true;
    let refused = 0;
    const pool = new Proxy(sys.pool, {
      get: (target, prop) => (prop === 'query'
        ? (text: string, values: unknown[]) => (down ? (refused++, Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))) : target.query(text, values))
        : Reflect.get(target, prop)),
    }) as Pool;
    const writer = new AuditWriter(pool, log);
    for (let i = 0; i < 5; i++) writer.add(row(path, i));
    await eventually(() => refused > 0, { what: 'the failed write' });
    expect(await written(path)).toEqual([]);
    down = false;
    // Arriving while the writer waits to retry, it goes with the kept rows.
    writer.add(row(path, 5));
    const rows = await eventually(() => written(path), { accept: (r) => r.length === 6, what: 'the kept rows written after the outage' });
    expect(rows).toEqual(['case-0', 'case-1', 'case-2', 'case-3', 'case-4', 'case-5']);
  });

  it('records each state-changing request, with the time it arrived', async () => {
    const before = Date.now();
    const res = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'audit test' } });
    expect(res.status).toBe(201);
    const entry = await eventually(async () => (await sys.pool.query<{ at: Date; status: number; role: string }>(
      `SELECT at, status, role FROM audit_log WHERE path = '/v1/api-keys' AND at >= $1 ORDER BY id DESC LIMIT 1`, [new Date(before - 1)])).rows[0],
    { what: 'the audit row' });
    expect(entry).toMatchObject({ status: 201, role: 'admin' });
    expect(entry.at.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(entry.at.getTime()).toBeLessThanOrEqual(Date.now());
  });
});
