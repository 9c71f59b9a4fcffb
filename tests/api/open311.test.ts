/**
 * Open311 GeoReport v2 through the real API: every JSON answer validated against the
 * published schemas (tests/fixtures/open311, Ajv), XML read back by a parser, errors in the
 * spec's shape, no personal data in any GET, and an independent client (the PyPI package
 * georeport, plus Python's urllib for the POST it lacks) filing and reading a request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';
import { eventually } from '../support/eventually';
import { georeportPython, runPython } from '../support/georeportClient';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

const schema = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures/open311', name), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(schema('service.json'), 'service.json');
ajv.addSchema(schema('request.json'), 'request.json');
const validators = {
  services: ajv.compile(schema('services.json')), definition: ajv.compile(schema('service-definition.json')),
  requests: ajv.compile(schema('requests.json')), request: ajv.getSchema('request.json')!,
};
function valid(kind: keyof typeof validators, body: unknown) {
  const ok = validators[kind](body);
  if (!ok) throw new Error(`${kind} does not match the GeoReport v2 schema: ${ajv.errorsText(validators[kind].errors)}`);
  // The schemas put minItems inside items (no effect): check what the spec says instead.
  if (kind === 'services' || kind === 'requests') expect(Array.isArray(body)).toBe(true);
}
const xml = new XMLParser({ isArray: (name) => ['service', 'request', 'error', 'attribute', 'value', 'request_update'].includes(name), parseTagValue: false });

let sys: TestSystem;
let staff: string;
let sim: PartnerSimulator;
const BASE = '/open311/v2';
const PERSONAL = ['桂兰', '13904371234', '向阳街8号', '水管爆了，厨房进水'];

beforeAll(async () => {
  sys = await startTestSystem({ OPEN311_JURISDICTION: 'liaoyuan.example.cn' });
  staff = await sys.createKey('staff');
  sim = await startPartnerSimulator();
  await sys.createPartner({ name: '龙山区物业服务中心', categories: ['housing'], communities: [sys.community], capacity: 50, webhookUrl: sim.url, webhookSecret: sim.secret });
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${sys.url}${BASE}/${path}`, { headers });
  const text = await res.text();
  for (const s of PERSONAL) expect(text).not.toContain(s);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) };
};
const post = async (fields: Record<string, string>, format = 'json') => {
  const res = await fetch(`${sys.url}${BASE}/requests.${format}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  return { status: res.status, text: await res.text() };
};
const filing = () => ({
  api_key: staff, service_code: 'housing', 'attribute[community]': sys.community, 'attribute[compound]': '幸福里',
  first_name: '桂兰', last_name: '王', phone: '13904371234', address_string: '向阳街8号', description: '水管爆了，厨房进水',
});
const casesHere = async () => (await sys.call('GET', `/v1/cases?community=${encodeURIComponent(sys.community)}&limit=500`)).body.items.length as number;

it('lists the nine services and their definitions, in JSON and XML, as the schemas say', async () => {
  const list = await get('services.json');
  expect(list.type).toContain('application/json');
  valid('services', list.json());
  expect(list.json().map((s: { service_code: string }) => s.service_code)).toEqual(['clothing', 'food', 'housing', 'transport', 'daily_goods', 'medical', 'culture', 'employment', 'hardship']);
  expect(list.json()[0]).toMatchObject({ service_name: '衣', metadata: true, type: 'realtime' });
  expect((await get('services.json', { 'Accept-Language': 'en' })).json()[0].service_name).toBe('Clothing');

  const x = await get('services.xml');
  expect(x.type).toContain('application/xml');
  expect(x.text.startsWith('<?xml version="1.0" encoding="utf-8"?>')).toBe(true);
  expect(xml.parse(x.text).services.service.map((s: { service_code: string }) => s.service_code)).toHaveLength(9);

  const def = await get('services/housing.json');
  valid('definition', def.json());
  expect(def.json().attributes.find((a: { code: string }) => a.code === 'community')).toMatchObject({ required: true, datatype: 'string' });
  const defXml = xml.parse((await get('services/housing.xml')).text).service_definition;
  expect(defXml.attributes.attribute.map((a: { code: string }) => a.code)).toEqual(['community', 'compound', 'grid', 'urgency']);
  expect(defXml.attributes.attribute[3].values.value.map((v: { key: string }) => v.key)).toEqual(['normal', 'urgent']);

  const unknown = await get('services/potholes.json');
  expect(unknown.status).toBe(404);
  expect(unknown.json()).toEqual([{ code: 404, description: expect.stringContaining('potholes') }]);
  expect((await get('services.json?jurisdiction_id=elsewhere')).status).toBe(404);
  expect((await get('services.json?jurisdiction_id=liaoyuan.example.cn')).status).toBe(200);
  expect((await get('services.yaml')).status).toBe(404);
  // A path no route matches (dots in the code) still answers in the spec's error array, not a problem document.
  const unmatched = await get('services/a..b.');
  expect(unmatched.status).toBe(404);
  expect(unmatched.json()).toEqual([{ code: 404, description: expect.stringContaining('/open311/v2/services/a..b.') }]);
});

it('files a request from a form post and reads it back without personal data', async () => {
  const filedAfter = new Date(Date.now() - 1000).toISOString();
  const res = await post(filing());
  expect(res.status).toBe(201);
  const answer = JSON.parse(res.text);
  expect(answer).toEqual([{ service_request_id: expect.any(String), service_notice: expect.stringMatching(/^查询码 [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}，进度见 http/) }]);
  const id = answer[0].service_request_id;
  const opened = await sys.call('GET', `/v1/service-requests/${id}`, { key: staff });
  expect(opened.body).toMatchObject({ channel: 'online', category: 'housing', description: '水管爆了，厨房进水', resident: { name: '王桂兰', phone: '13904371234', compound: '幸福里', address: '向阳街8号' } });

  const live = await eventually(async () => (await sys.call('GET', `/v1/service-requests/${id}`, { key: staff })).body, { accept: (b) => b.status === 'awaiting_ack' });
  const one = await eventually(async () => (await get(`requests/${id}.json`)).json(), { accept: (b) => b[0]?.agency_responsible === '龙山区物业服务中心' });
  valid('requests', one);
  expect(one).toHaveLength(1);
  expect(one[0]).toMatchObject({
    service_request_id: id, status: 'open', service_code: 'housing', service_name: '住', address: `${sys.community} 幸福里`,
    expected_datetime: live.deadlines.ack.replace(/\.\d{3}Z$/, 'Z'), status_notes: expect.stringContaining('awaiting_ack'),
  });
  expect(one[0]).not.toHaveProperty('description');

  const all = await get('requests.json?service_code=housing,food&status=open');
  valid('requests', all.json());
  expect(all.json().map((r: { service_request_id: string }) => r.service_request_id)).toContain(id);
  expect((await get('requests.json?status=closed')).json().map((r: { service_request_id: string }) => r.service_request_id)).not.toContain(id);
  const viaXml = xml.parse((await get(`requests/${id}.xml`)).text);
  expect(viaXml.service_requests.request[0]).toMatchObject({ service_request_id: id, status: 'open', agency_responsible: '龙山区物业服务中心' });

  const updates = await get(`servicerequestupdates.json?start_date=${filedAfter}`);
  const ours = updates.json().filter((u: { service_request_id: string }) => u.service_request_id === id);
  expect(ours.map((u: { external_status_code: string }) => u.external_status_code)).toEqual(['intake', 'dispatched']);
  const updatesXml = xml.parse((await get(`servicerequestupdates.xml?start_date=${filedAfter}`)).text);
  expect(updatesXml.service_requests_updates.request_update.some((u: { service_request_id: string }) => u.service_request_id === id)).toBe(true);
  expect((await get('requests/no-such-request.json')).status).toBe(404);
});

it('refuses bad posts in the spec\'s error shape and opens nothing', async () => {
  const before = await casesHere();
  const { api_key: _key, ...noKey } = filing();
  const cases: [Record<string, string>, number, RegExp][] = [
    [noKey, 403, /api_key/],
    [{ ...filing(), api_key: 'gj_not-a-key' }, 403, /./],
    [{ ...filing(), api_key: await sys.createKey('partner', { partnerId: 'p-1' }).catch(() => sys.adminKey) }, 403, /staff or supervisor/],
    [{ ...filing(), service_code: '' }, 400, /service_code/],
    [{ ...filing(), service_code: 'potholes' }, 400, /service_code/],
    [{ ...filing(), phone: 'call me' }, 400, /^phone:/],
    [{ ...filing(), 'attribute[community]': '' }, 400, /attribute\[community\]/],
    [{ ...filing(), jurisdiction_id: 'elsewhere' }, 404, /jurisdiction/],
    [{ ...filing(), description: 'leak\u0000' }, 400, /NUL/],
  ];
  for (const [fields, status, message] of cases) {
    const res = await post(fields);
    expect({ status: res.status, fields: Object.keys(fields) }).toEqual({ status, fields: Object.keys(fields) });
    const errors = JSON.parse(res.text);
    expect(errors[0]).toEqual({ code: status, description: expect.stringMatching(message) });
  }
  const asXml = await post(noKey, 'xml');
  expect(xml.parse(asXml.text).errors.error[0]).toMatchObject({ code: '403' });
  expect((await get('requests.json?start_date=yesterday')).status).toBe(400);
  expect((await get('requests.json?service_request_id=a%00b')).status).toBe(400);
  expect((await get('requests/a%00b.json')).status).toBe(400);
  expect((await get('requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z')).status).toBe(400);
  expect(await casesHere()).toBe(before);
});

it('serves an independent client: georeport reads (JSON and XML), urllib files', async () => {
  const python = await georeportPython();
  const result = await runPython(python, `
import json, os, urllib.parse, urllib.request
from georeport import GeoReport
root = os.environ['ROOT']
form = urllib.parse.urlencode({'api_key': os.environ['KEY'], 'jurisdiction_id': 'liaoyuan.example.cn', 'service_code': 'food',
  'attribute[community]': os.environ['COMMUNITY'], 'first_name': 'Ming', 'last_name': 'Li', 'phone': '13904375678',
  'description': 'needs meals delivered'}).encode()
with urllib.request.urlopen(urllib.request.Request(root + '/requests.json', data=form, method='POST')) as r:
    filed = json.load(r)
out = {'filed': filed}
for fmt in ('json', 'xml'):
    client = GeoReport(root, jurisdiction='liaoyuan.example.cn', output_format=fmt)
    out[fmt] = {
        'services': [s['service_code'] for s in client.get_service_list()],
        'definition': client.get_service_definition('food')['service_code'],
        'request': client.get_service_request(filed[0]['service_request_id']),
        'requests': client.get_service_requests(service_code='food'),
    }
print(json.dumps(out))
`, { ROOT: `${sys.url}${BASE}`, KEY: staff, COMMUNITY: sys.community });
  const id = result.filed[0].service_request_id;
  expect(result.json.services).toHaveLength(9);
  expect(result.xml.services).toEqual(result.json.services);
  expect(result.json.definition).toBe('food');
  expect(result.xml.definition).toBe('food');
  expect(result.json.request).toMatchObject({ service_request_id: id, status: 'open', service_code: 'food' });
  expect(result.xml.request).toMatchObject({ service_request_id: id, status: 'open', service_code: 'food' });
  valid('requests', result.json.requests);
  expect(JSON.stringify(result)).not.toMatch(/Ming|13904375678|needs meals/);
}, 240_000);
