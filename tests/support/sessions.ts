/** People in tests: create a user through the API and log it in, like the console does. */
import { randomUUID } from 'node:crypto';
import type { TestSystem } from './system';

export interface TestSession { userId: string; username: string; cookie: string; csrf: string }

export const TEST_PASSWORD = 'correct horse battery';

export async function createUser(sys: TestSystem, role: string, extra: Record<string, unknown> = {}): Promise<{ id: string; username: string }> {
  const username = `u-${role}-${randomUUID().slice(0, 8)}`;
  const res = await sys.call('POST', '/v1/users', { body: { username, displayName: `${role} 测试`, password: TEST_PASSWORD, role, ...extra } });
  if (res.status !== 201) throw new Error(`could not create ${role} user: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, username };
}

export async function logIn(sys: TestSystem, username: string, password = TEST_PASSWORD): Promise<TestSession & { status: number }> {
  const res = await sys.call('POST', '/v1/session', { key: '', body: { username, password } });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { status: res.status, userId: res.body?.user?.id, username, cookie: setCookie.split(';')[0], csrf: res.body?.csrfToken };
}

export async function userSession(sys: TestSystem, role: string, extra: Record<string, unknown> = {}): Promise<TestSession> {
  const { username } = await createUser(sys, role, extra);
  const s = await logIn(sys, username);
  if (s.status !== 200) throw new Error(`could not log in ${username}: ${s.status}`);
  return s;
}

/** Headers of a request made with the session, as the console sends them. */
export const withSession = (s: TestSession, csrf = true): Record<string, string> => ({ cookie: s.cookie, ...(csrf ? { 'x-csrf-token': s.csrf } : {}) });
