/**
 * Logs never hold residents' data or keys: requests full of both go through an API whose
 * logger writes, at debug level, into a buffer that is then searched.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';
import { eventually } from '../support/eventually';
import { startExtraApi, type ExtraApi } from '../support/extraApi';
import { startTestSystem, type TestSystem } from '../support/system';

class CapturedLog extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
  get lines(): Record<string, unknown>[] {
    return this.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

const secrets = {
  name: '孙桂珍 SunGuizhen-X3', phone: '13611112222', idNumber: '220104195002023456', address: '幸福里 7-301',
  webhookSecret: 'partner-webhook-secret-K9', bogusKey: 'gj_not-a-real-key-LEAK',
};

let sys: TestSystem;
let api: ExtraApi;
const log = new CapturedLog();

beforeAll(async () => {
  sys = await startTestSystem();
  api = await startExtraApi(sys, {}, createLogger('debug', 'api', log));
});
afterAll(async () => {
  await api?.stop();
  await sys?.stop();
});

it('logs each request (method, route, status, key id) and nothing a resident or key holder would not want logged', async () => {
  const staff = await sys.createKey('staff');
  const resident = { name: secrets.name, phone: secrets.phone, address: secrets.address, community: sys.community };
  const calls: [string, string, { key?: string; body?: unknown; headers?: Record<string, string> }][] = [
    ['POST', '/v1/service-requests', { key: staff, body: { resident, category: 'food', description: `送餐 ${secrets.phone}`, urgency: 'normal', channel: 'phone' } }],
    ['POST', '/v1/service-requests', { key: staff, body: { resident: { ...resident, phone: `bad ${secrets.phone}` }, category: 'food' } }],
    ['POST', '/v1/registrations', { key: staff, body: { applicants: [{ name: secrets.name, idNumber: secrets.idNumber, phone: secrets.phone }], property: { address: secrets.address } } }],
    ['GET', `/v1/cases?community=${encodeURIComponent(secrets.name)}`, { key: staff }],
    ['POST', '/v1/partners', { key: sys.adminKey, body: { name: '物业', kind: 'property_company', categories: ['housing'], communities: [sys.community], capacity: 1, webhookUrl: 'http://127.0.0.1:9/h', webhookSecret: secrets.webhookSecret } }],
    ['POST', '/v1/api-keys', { key: sys.adminKey, body: { role: 'staff', name: secrets.name } }],
    ['GET', '/v1/partners', { key: secrets.bogusKey }],
    ['GET', '/v1/partners', { headers: { cookie: `gj_codec=${secrets.bogusKey}` } }],
  ];
  for (const [method, path, opts] of calls) await api.call(method, path, opts);
  const created = (await api.call('POST', '/v1/api-keys', { key: sys.adminKey, body: { role: 'staff', name: 'x' } })).body.key as string;

  // One line per request, written when the response finishes.
  const requests = () => log.lines.filter((l) => l.msg === 'request');
  await eventually(() => requests().length >= calls.length + 1, { what: 'a log line per request' });
  expect(requests().map((l) => `${l.method} ${l.route} ${l.status}`)).toEqual(expect.arrayContaining([
    'POST /v1/service-requests 201', 'POST /v1/service-requests 400', 'GET /v1/cases 200', 'GET /v1/partners 401',
  ]));
  expect(requests().find((l) => l.route === '/v1/cases')?.keyId).toEqual(expect.any(String));
  // Which process wrote each line stays readable (pino's `name` key would be redacted as a resident's name).
  expect(new Set(requests().map((l) => l.service))).toEqual(new Set(['api']));

  for (const value of [...Object.values(secrets), 'SunGuizhen', staff, sys.adminKey, created, encodeURIComponent(secrets.name)]) {
    expect({ value, found: log.text.includes(value) }).toEqual({ value, found: false });
  }
});

it('redacts residents, applicants, keys and secrets even if a whole object is logged by mistake', () => {
  const out = new CapturedLog();
  const logger = createLogger('debug', 'test', out);
  logger.debug({
    resident: { name: secrets.name, phone: secrets.phone, address: secrets.address, community: 'c' },
    body: { resident: { name: secrets.name, phone: secrets.phone }, applicants: [{ name: secrets.name, idNumber: secrets.idNumber, phone: secrets.phone }] },
    req: { headers: { authorization: `Bearer ${secrets.bogusKey}`, cookie: `gj_codec=${secrets.bogusKey}` } },
    partner: { webhookSecret: secrets.webhookSecret },
  }, 'oops');
  for (const value of Object.values(secrets)) expect(out.text).not.toContain(value);
  expect(out.lines[0]).toMatchObject({ resident: { community: 'c', name: '[redacted]' }, msg: 'oops' });
});
