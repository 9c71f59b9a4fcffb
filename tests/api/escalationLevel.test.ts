/**
 * GET /v1/escalations?level=mine through the real API and Postgres: the caller's own
 * escalation level, from its API key or from its user's session; 400 naming the field when
 * the caller has none. The list is the read model, so its rows are written straight into it.
 */
import { randomUUID } from 'node:crypto';
import { userSession, withSession } from '../support/sessions';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
const community = `esclevel-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  sys = await startTestSystem();
  // One open escalation at each level in a community of this suite's own.
  for (const level of [1, 2, 3]) {
    await sys.pool.query(
      `INSERT INTO escalations (case_id, number, case_type, community, reason, level, status, since, level_since, last_seq)
       VALUES ($1, 1, 'service_request', $2, 'no_partner', $3::smallint, 'open', now() - make_interval(mins => $3::int), now(), 1)`,
      [`esc-${level}-${randomUUID()}`, community, level]);
  }
}, 60_000);
afterAll(async () => {
  await sys?.pool.query('DELETE FROM escalations WHERE community = $1', [community]).catch(() => undefined);
  await sys?.stop();
});

const levels = (items: { level: number }[]) => items.map((i) => i.level);
const listMine = (auth: { key?: string; headers?: Record<string, string> }) =>
  sys.call('GET', `/v1/escalations?level=mine&community=${community}`, auth);

it('a key with an escalation level lists only its level; the key shows its level', async () => {
  const key = await sys.createKey('supervisor', { escalationLevel: 2 });
  const res = await listMine({ key });
  expect(res.status).toBe(200);
  expect(levels(res.body.items)).toEqual([2]);
  const keys = await sys.call('GET', '/v1/api-keys?limit=200');
  expect(keys.body.items.filter((k: { escalationLevel: number | null }) => k.escalationLevel === 2).length).toBeGreaterThanOrEqual(1);
  // an explicit level still works, and no level lists all three, highest first
  expect(levels((await sys.call('GET', `/v1/escalations?level=3&community=${community}`, { key })).body.items)).toEqual([3]);
  expect(levels((await sys.call('GET', `/v1/escalations?community=${community}`, { key })).body.items)).toEqual([3, 2, 1]);
});

it('a session of a user with an escalation level lists only that level', async () => {
  const s = await userSession(sys, 'staff', { escalationLevel: 1 });
  const res = await listMine({ key: '', headers: withSession(s, false) });
  expect(res.status).toBe(200);
  expect(levels(res.body.items)).toEqual([1]);
});

it('level=mine without an escalation level is a 400 naming query.level, by key and by session', async () => {
  const byKey = await listMine({ key: await sys.createKey('staff') });
  expect(byKey.status).toBe(400);
  expect(byKey.body.errors).toEqual([expect.objectContaining({ path: 'query.level' })]);
  const s = await userSession(sys, 'supervisor');
  const bySession = await listMine({ key: '', headers: withSession(s, false) });
  expect(bySession.status).toBe(400);
  expect(bySession.body.errors).toEqual([expect.objectContaining({ path: 'query.level' })]);
});

it('refuses an escalation level on a partner or admin key, and a level outside 1-3, naming the field', async () => {
  for (const body of [{ role: 'admin', name: 'x', escalationLevel: 1 }, { role: 'staff', name: 'x', escalationLevel: 4 }]) {
    const res = await sys.call('POST', '/v1/api-keys', { body });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.errors)).toContain('escalationLevel');
  }
  expect((await sys.call('GET', `/v1/escalations?level=seven&community=${community}`, { key: await sys.createKey('staff') })).status).toBe(400);
});
