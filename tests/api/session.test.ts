/** People: user accounts, login, the session cookie, CSRF, lockout, logout and deactivation. */
import { createUser, logIn, TEST_PASSWORD, userSession, withSession } from '../support/sessions';
import { startTestSystem, type TestSystem } from '../support/system';
import { eventually } from '../support/eventually';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); }, 60_000);
afterAll(async () => { await sys?.stop(); });

describe('user accounts', () => {
  it('creates a user without ever showing the password, and stores only a salted scrypt hash', async () => {
    const res = await sys.call('POST', '/v1/users', { body: { username: 'wang.grid', displayName: '王网格长', password: 'a-long-password-1', role: 'staff', communities: [sys.community], escalationLevel: 1 } });
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toMatch(/password|a-long-password-1|scrypt/i);
    expect(res.body).toMatchObject({ username: 'wang.grid', role: 'staff', communities: [sys.community], escalationLevel: 1, active: true });
    const { rows } = await sys.pool.query('SELECT password_hash FROM users WHERE id = $1', [res.body.id]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$/);
    expect(rows[0].password_hash).not.toContain('a-long-password-1');
    const again = await sys.call('POST', '/v1/users', { body: { username: 'WANG.grid', displayName: '另一个', password: 'a-long-password-2', role: 'staff' } });
    expect(again.status).toBe(409);
    expect((await sys.call('GET', `/v1/users/${res.body.id}`)).body.username).toBe('wang.grid');
    expect((await sys.call('GET', '/v1/users?limit=500')).body.items.map((u: { id: string }) => u.id)).toContain(res.body.id);
  });

  it('refuses short passwords, empty community lists and partner users without a partner, naming the field', async () => {
    const bad = async (body: Record<string, unknown>) => sys.call('POST', '/v1/users', { body: { username: 'x-user', displayName: 'X', password: TEST_PASSWORD, role: 'staff', ...body } });
    const short = await bad({ password: 'short9char' .slice(0, 9) });
    expect(short.status).toBe(400);
    expect(short.body.errors[0].path).toBe('body.password');
    const empty = await bad({ communities: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].path).toBe('body.communities');
    expect((await bad({ role: 'partner' })).body.errors[0].path).toBe('body.partnerId');
    expect((await bad({ escalationLevel: 4 })).body.errors[0].path).toBe('body.escalationLevel');
    const key = await sys.call('POST', '/v1/api-keys', { body: { role: 'staff', name: 'x', communities: [] } });
    expect(key.status).toBe(400);
    expect(key.body.errors[0].path).toBe('body.communities');
    expect((await sys.call('GET', '/v1/users?limit=500')).body.items.map((u: { username: string }) => u.username)).not.toContain('x-user');
  });
});

describe('sessions', () => {
  it('logs in with an HttpOnly SameSite=Strict cookie that acts like a key of the same role and scope', async () => {
    const { username } = await createUser(sys, 'staff', { communities: [sys.community] });
    const res = await sys.call('POST', '/v1/session', { key: '', body: { username, password: TEST_PASSWORD } });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^gj_session=[A-Za-z0-9_-]{43}; Path=\//);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // plain http here; behind TLS it is Secure
    expect(res.body.csrfToken).toEqual(expect.any(String));
    const s = { cookie: cookie.split(';')[0], csrf: res.body.csrfToken };

    const me = await sys.call('GET', '/v1/session', { key: '', headers: { cookie: s.cookie } });
    expect(me.body).toMatchObject({ role: 'staff', communities: [sys.community], user: { username }, csrfToken: s.csrf });
    // staff may list cases, may not create keys; outside its community it is refused like a limited key
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie: s.cookie } })).status).toBe(200);
    expect((await sys.call('GET', '/v1/api-keys', { key: '', headers: { cookie: s.cookie } })).status).toBe(403);
    expect((await sys.call('GET', '/v1/cases?community=elsewhere', { key: '', headers: { cookie: s.cookie } })).status).toBe(403);
  });

  it('refuses a change made with the cookie but without the CSRF token (403), and stores nothing', async () => {
    const s = await userSession(sys, 'staff');
    const body = { resident: { name: '李奶奶', phone: '13800001111', community: sys.community }, category: 'housing', description: 'csrf probe', urgency: 'normal', channel: 'phone' };
    const before = (await sys.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE path = '/v1/service-requests' AND status = 201`)).rows[0].n;
    const noToken = await sys.call('POST', '/v1/service-requests', { key: '', headers: withSession(s, false), body });
    expect(noToken.status).toBe(403);
    expect(noToken.body.detail).toMatch(/X-CSRF-Token/);
    const wrong = await sys.call('POST', '/v1/service-requests', { key: '', headers: { cookie: s.cookie, 'x-csrf-token': 'forged' }, body });
    expect(wrong.status).toBe(403);
    const ok = await sys.call('POST', '/v1/service-requests', { key: '', headers: withSession(s), body });
    expect(ok.status).toBe(201);
    await eventually(async () => (await sys.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE path = '/v1/service-requests' AND status = 201`)).rows[0].n,
      { accept: (n: number) => n === before + 1, what: 'exactly one case recorded in the audit log' });
  });

  it('answers the same 401 for an unknown user and a wrong password, and 401 for a forged or ended cookie', async () => {
    const { username } = await createUser(sys, 'staff');
    const unknown = await sys.call('POST', '/v1/session', { key: '', body: { username: 'nobody-here', password: TEST_PASSWORD } });
    const wrong = await sys.call('POST', '/v1/session', { key: '', body: { username, password: 'not the password' } });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(unknown.headers.get('set-cookie')).toBeNull();
    expect((await sys.call('GET', '/v1/session', { key: '', headers: { cookie: 'gj_session=forged-value' } })).status).toBe(401);

    const s = await logIn(sys, username);
    expect((await sys.call('DELETE', '/v1/session', { key: '', headers: withSession(s) })).status).toBe(204);
    const after = await sys.call('GET', '/v1/session', { key: '', headers: { cookie: s.cookie } });
    expect(after.status).toBe(401);
    expect(after.body.detail).toMatch(/log in again/);
  });

  it('answers 401 once a session has expired (12 hours)', async () => {
    const s = await userSession(sys, 'staff');
    expect((await sys.call('GET', '/v1/session', { key: '', headers: { cookie: s.cookie } })).body.expiresAt).toEqual(expect.any(String));
    await sys.pool.query(`UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [s.userId]);
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie: s.cookie } })).status).toBe(401);
  });

  it('lets an API key win over a cookie on the same request', async () => {
    const s = await userSession(sys, 'partner', { partnerId: (await sys.createPartner({ name: '某志愿队', webhookUrl: 'http://127.0.0.1:9/hook' })).id });
    const staffKey = await sys.createKey('staff');
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie: s.cookie } })).status).toBe(403);
    expect((await sys.call('GET', '/v1/cases', { key: staffKey, headers: { cookie: s.cookie } })).status).toBe(200);
  });

  it('locks a username for 15 minutes after 5 failures (429 with Retry-After), even with the right password', async () => {
    const { username } = await createUser(sys, 'staff');
    for (let i = 0; i < 5; i++) {
      expect((await sys.call('POST', '/v1/session', { key: '', body: { username, password: `wrong-${i}` } })).status).toBe(401);
    }
    const locked = await sys.call('POST', '/v1/session', { key: '', body: { username, password: TEST_PASSWORD } });
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // another username is not affected
    const other = await createUser(sys, 'staff');
    expect((await logIn(sys, other.username)).status).toBe(200);
  });

  it('ends the sessions of a deactivated user at once, and it can no longer log in', async () => {
    const { id, username } = await createUser(sys, 'supervisor');
    const s = await logIn(sys, username);
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie: s.cookie } })).status).toBe(200);
    const del = await sys.call('DELETE', `/v1/users/${id}`);
    expect(del.status).toBe(200);
    expect(del.body.active).toBe(false);
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie: s.cookie } })).status).toBe(401);
    expect((await logIn(sys, username)).status).toBe(401);
    // reactivated, the old cookie stays dead; a new login works
    expect((await sys.call('PATCH', `/v1/users/${id}`, { body: { active: true } })).body.active).toBe(true);
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie: s.cookie } })).status).toBe(401);
    expect((await logIn(sys, username)).status).toBe(200);
  });

  it('applies a role change to a running session at once, and a new password ends the old sessions', async () => {
    const { id, username } = await createUser(sys, 'staff');
    const s = await logIn(sys, username);
    expect((await sys.call('GET', '/v1/reports/summary', { key: '', headers: { cookie: s.cookie } })).status).toBe(403);
    await sys.call('PATCH', `/v1/users/${id}`, { body: { role: 'supervisor' } });
    expect((await sys.call('GET', '/v1/reports/summary', { key: '', headers: { cookie: s.cookie } })).status).toBe(200);
    await sys.call('PATCH', `/v1/users/${id}`, { body: { password: 'a-brand-new-password' } });
    expect((await sys.call('GET', '/v1/session', { key: '', headers: { cookie: s.cookie } })).status).toBe(401);
    expect((await logIn(sys, username, 'a-brand-new-password')).status).toBe(200);
  });

  it('lets a person change its own password: the current one is checked, its other sessions end, this one stays', async () => {
    const { username } = await createUser(sys, 'supervisor');
    const here = await logIn(sys, username);
    const elsewhere = await logIn(sys, username);
    const change = (body: unknown, headers = withSession(here)) => sys.call('PUT', '/v1/session/password', { key: '', body, headers });
    const wrong = await change({ currentPassword: 'not-my-password', newPassword: 'a-brand-new-password' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([{ path: 'body.currentPassword', message: 'is not the current password' }]);
    const short = await change({ currentPassword: TEST_PASSWORD, newPassword: 'short' });
    expect(short.status).toBe(400);
    expect(short.body.errors[0].path).toBe('body.newPassword');
    expect((await change({ currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-password' }, withSession(here, false))).status).toBe(403);
    expect((await logIn(sys, username)).status).toBe(200);

    expect((await change({ currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-password' })).status).toBe(204);
    expect((await sys.call('GET', '/v1/session', { key: '', headers: { cookie: here.cookie } })).status).toBe(200);
    expect((await sys.call('GET', '/v1/session', { key: '', headers: { cookie: elsewhere.cookie } })).status).toBe(401);
    expect((await logIn(sys, username)).status).toBe(401);
    expect((await logIn(sys, username, 'a-brand-new-password')).status).toBe(200);
    // An API key has no password to change.
    const key = await sys.createKey('staff');
    expect((await sys.call('PUT', '/v1/session/password', { key, body: { currentPassword: 'x', newPassword: 'a-brand-new-password' } })).status).toBe(403);
  });

  it('counts wrong current passwords like failed logins: the sixth answers 429', async () => {
    const { username } = await createUser(sys, 'staff');
    const s = await logIn(sys, username);
    for (let i = 0; i < 5; i++) {
      expect((await sys.call('PUT', '/v1/session/password', { key: '', body: { currentPassword: `wrong-${i}`, newPassword: 'a-brand-new-password' }, headers: withSession(s) })).status).toBe(400);
    }
    const locked = await sys.call('PUT', '/v1/session/password', { key: '', body: { currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-password' }, headers: withSession(s) });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await logIn(sys, username)).status).toBe(429);
  });

  it('writes every login and every failure to the audit log', async () => {
    const { id, username } = await createUser(sys, 'staff');
    await logIn(sys, username, 'wrong password!');
    await logIn(sys, username);
    await eventually(async () => (await sys.call('GET', `/v1/audit?keyId=user:${id}`)).body.items,
      { accept: (items: { status: number; path: string }[]) => items.filter((r) => r.path === '/v1/session').map((r) => r.status).sort().join() === '200,401', what: 'a 401 and a 200 for the user' });
  });
});
