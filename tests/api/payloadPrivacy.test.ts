/**
 * Residents' data in Temporal is encrypted: the real `temporal workflow show` on a real
 * case prints no name, phone or address, while the codec endpoint (for operators, via the
 * CLI's --codec-endpoint or the Web UI) reveals them to admins and supervisors only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../support/eventually';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

const run = promisify(execFile);

let sys: TestSystem;
let sim: PartnerSimulator;
let supervisorKey: string;
let caseId: string;
let registrationId: string;

// ASCII parts too, so a match cannot hide behind how a tool escapes non-ASCII text.
const resident = { name: '李秀英 LiXiuying-Q7', phone: '13987654321', address: '南湖小区 Building 7 Unit 302' };
const applicant = { name: '吴建国 WuJianguo-Z5', idNumber: '22010219470312451X', phone: '13612345678' };
const UI_ORIGIN = 'http://127.0.0.1:8233';

/** `temporal workflow show` with a clean environment (no profile or TEMPORAL_* variables of the machine). */
async function workflowShow(extraArgs: string[] = [], workflowId = `service-request:${caseId}`): Promise<string> {
  const { stdout } = await run(process.env.TEMPORAL_CLI_PATH!, [
    'workflow', 'show', '--workflow-id', workflowId, '--address', process.env.TEST_TEMPORAL_ADDRESS!,
    '--namespace', sys.config.TEMPORAL_NAMESPACE, '--output', 'json', ...extraArgs,
  ], { env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'cli-home-')) }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * Everything a reader of the output could recover without a key: the text as printed, as
 * parsed (JSON escapes undone), and every payload's `data` decoded from base64 (which
 * hides nothing: unencrypted payloads print as base64 JSON).
 */
function searchable(out: string): string {
  const decoded: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const { metadata, data } = node as { metadata?: unknown; data?: unknown };
    if (metadata && typeof data === 'string') decoded.push(Buffer.from(data, 'base64').toString('utf8'));
    Object.values(node).forEach(walk);
  };
  const parsed: unknown = JSON.parse(out);
  walk(parsed);
  return [out, JSON.stringify(parsed), ...decoded].join('\n');
}

beforeAll(async () => {
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
  await sys.createPartner({ name: '南湖物业', webhookUrl: sim.url, webhookSecret: sim.secret });
  supervisorKey = await sys.createKey('supervisor');
  const staff = await sys.createKey('staff');
  const created = await sys.call('POST', '/v1/service-requests', {
    key: staff,
    body: { resident: { ...resident, community: sys.community, grid: 'G1' }, category: 'housing', description: '灯不亮了', urgency: 'urgent', channel: 'phone' },
  });
  expect(created.status).toBe(201);
  caseId = created.body.id;
  // By then the resident has crossed Temporal as workflow input, query results and webhook activity input.
  await eventually(async () => (await sys.call('GET', `/v1/cases/${caseId}/history`)).body, {
    accept: (h: { type: string }[]) => Array.isArray(h) && h.some((e) => e.type === 'notification_delivered'), what: 'the dispatch webhook',
  });
  expect(sim.received[0].body.case.resident.phone).toBe(resident.phone); // the partner itself gets the details

  const registration = await sys.call('POST', '/v1/registrations', {
    key: staff,
    body: { applicants: [applicant], property: { address: resident.address }, businessType: 'transfer', documents: ['applicant_id'], delivery: 'window', community: sys.community },
  });
  expect(registration.status).toBe(201);
  registrationId = registration.body.id;
  await eventually(async () => (await sys.call('GET', `/v1/cases/${registrationId}/history`)).body, {
    accept: (h: unknown[]) => Array.isArray(h) && h.length > 0, what: 'the registration intake',
  });
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

describe('the real CLI on a real case', () => {
  it('shows no name, phone or address in clear, only encrypted payloads', async () => {
    const out = await workflowShow();
    const text = searchable(out);
    expect(JSON.parse(out).events.length).toBeGreaterThan(5);
    for (const value of [resident.name, 'LiXiuying-Q7', resident.phone, resident.address, 'Building 7']) expect(text).not.toContain(value);
    const encrypted = Buffer.from('binary/encrypted').toString('base64');
    expect(text.split(encrypted).length - 1).toBeGreaterThanOrEqual(3);
  });

  it('shows no applicant ID number, phone or name of a registration case in clear', async () => {
    const text = searchable(await workflowShow([], `registration:${registrationId}`));
    for (const value of [applicant.idNumber, applicant.phone, 'WuJianguo-Z5']) expect(text).not.toContain(value);
    const decoded = searchable(await workflowShow(['--codec-endpoint', `${sys.url}/codec`, '--codec-auth', `Bearer ${supervisorKey}`], `registration:${registrationId}`));
    expect(decoded).toContain(applicant.idNumber);
    expect(decoded).toContain(applicant.phone);
  });

  it('shows them to a supervisor through the codec endpoint (positive control)', async () => {
    const out = await workflowShow(['--codec-endpoint', `${sys.url}/codec`, '--codec-auth', `Bearer ${supervisorKey}`]);
    const text = searchable(out);
    expect(text).toContain(resident.phone);
    expect(text).toContain('LiXiuying-Q7');
    expect(text).toContain(resident.address);
  });
});

describe('the codec endpoint', () => {
  /** The encrypted workflow input, as the UI would send it. */
  async function encryptedInput(): Promise<{ metadata: Record<string, string>; data: string }> {
    return JSON.parse(await workflowShow()).events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
  }

  it('decodes the payloads the UI sends, for admins and supervisors only', async () => {
    const payload = await encryptedInput();
    const body = { payloads: [payload] };
    const headers = { 'X-Namespace': sys.config.TEMPORAL_NAMESPACE };
    const decoded = await sys.call('POST', '/codec/decode', { key: supervisorKey, body, headers });
    expect(decoded.status).toBe(200);
    const [plain] = decoded.body.payloads;
    expect(Buffer.from(plain.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(plain.data, 'base64').toString()).intake.resident).toMatchObject(resident);
    expect(decoded.headers.get('cache-control')).toBe('no-store');

    expect((await sys.call('POST', '/codec/decode', { key: await sys.createKey('staff'), body })).status).toBe(403);
    expect((await sys.call('POST', '/codec/decode', { key: '', body })).status).toBe(401);
    const wrongNamespace = await sys.call('POST', '/codec/decode', { key: supervisorKey, body, headers: { 'X-Namespace': 'other' } });
    expect(wrongNamespace.status).toBe(400);
  });

  it('encodes what it decodes, and refuses tampered payloads with 400', async () => {
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"x":1}').toString('base64') };
    // Encoding is for admins (tests/api/scopeMeansScope.test.ts); decoding for supervisors too.
    const encoded = await sys.call('POST', '/codec/encode', { body: { payloads: [plain] } });
    expect(encoded.status).toBe(200);
    expect(Buffer.from(encoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    const roundTrip = await sys.call('POST', '/codec/decode', { key: supervisorKey, body: encoded.body });
    expect(roundTrip.body.payloads[0]).toEqual(plain);

    const tampered = structuredClone(encoded.body);
    const bytes = Buffer.from(tampered.payloads[0].data, 'base64');
    bytes[bytes.length - 1] ^= 1;
    tampered.payloads[0].data = bytes.toString('base64');
    const refused = await sys.call('POST', '/codec/decode', { key: supervisorKey, body: tampered });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/failed authentication/);
  });

  it('answers the UI\'s CORS preflight for its origin only', async () => {
    const preflight = (origin: string) => fetch(`${sys.url}/codec/decode`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
    });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')).toEqual(expect.stringContaining('x-namespace'));
    expect((await preflight('http://localhost:8233')).status).toBe(204);

    const evil = await preflight('https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets a browser sign in once and decode with the session cookie, until the key is revoked', async () => {
    const created = await sys.call('POST', '/v1/api-keys', { body: { role: 'supervisor', name: 'operator' } });
    const signIn = await sys.call('POST', '/codec/session', { key: created.body.key });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^gj_codec=[^;]+; Path=\/codec; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    expect(setCookie).not.toContain(created.body.key);
    const cookie = setCookie.split(';')[0];

    const payload = await encryptedInput();
    const viaCookie = () => sys.call('POST', '/codec/decode', { key: '', body: { payloads: [payload] }, headers: { cookie, Origin: UI_ORIGIN } });
    const decoded = await viaCookie();
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(Buffer.from(decoded.body.payloads[0].data, 'base64').toString()).toContain(resident.phone);

    // The cookie is a codec session, not an API key.
    expect((await sys.call('GET', '/v1/cases', { key: '', headers: { cookie } })).status).toBe(401);
    // Flip the signature's first character: every bit of it counts (the last one of a base64url
    // HMAC carries padding bits, so changing it can leave the decoded signature as it was).
    const dot = cookie.lastIndexOf('.');
    const forged = `${cookie.slice(0, dot + 1)}${cookie[dot + 1] === 'A' ? 'B' : 'A'}${cookie.slice(dot + 2)}`;
    expect((await sys.call('POST', '/codec/decode', { key: '', body: { payloads: [payload] }, headers: { cookie: forged } })).status).toBe(401);

    await sys.call('DELETE', `/v1/api-keys/${created.body.id}`);
    expect((await viaCookie()).status).toBe(401);
  });

  it('serves a sign-in page whose only script is its own', async () => {
    const res = await fetch(`${sys.url}/codec/login`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'; /);
    expect(await res.text()).toContain('Include cross-origin credentials');
  });
});
