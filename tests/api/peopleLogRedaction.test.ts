/** No log line holds a password, a session cookie, a CSRF token or an order-link token. */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';
import { startExtraApi, type ExtraApi } from '../support/extraApi';
import { createUser, TEST_PASSWORD } from '../support/sessions';
import { startTestSystem, type TestSystem } from '../support/system';

class CapturedLog extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void): void { this.text += chunk.toString('utf8'); done(); }
}

let sys: TestSystem;
let api: ExtraApi;
const log = new CapturedLog();
beforeAll(async () => {
  sys = await startTestSystem();
  api = await startExtraApi(sys, {}, createLogger('debug', 'api', log));
}, 60_000);
afterAll(async () => { await api?.stop(); await sys?.stop(); });

it('logs logins, sessions and order links by route pattern only', async () => {
  const { username } = await createUser(sys, 'staff');
  await api.call('POST', '/v1/session', { body: { username, password: 'wrong-password-LEAK' } });
  const res = await fetch(`${api.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: TEST_PASSWORD }) });
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  const { csrfToken } = await res.json() as { csrfToken: string };
  await api.call('DELETE', '/v1/session', { headers: { cookie, 'x-csrf-token': csrfToken } });
  const token = 'Z'.repeat(43);
  await api.call('GET', `/v1/order-links/${token}`);
  await api.call('POST', `/v1/order-links/${token}/accept`, { body: {} });
  await fetch(`${api.url}/p/${token}`);
  expect(log.text).toContain('/v1/order-links/:token');
  for (const secret of ['wrong-password-LEAK', TEST_PASSWORD, cookie.split('=')[1], csrfToken, token]) expect(log.text).not.toContain(secret);
});
