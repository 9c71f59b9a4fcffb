/**
 * The OpenAPI document (src/api/openapi/document.ts): linted by Redocly CLI with its
 * recommended rules (zero errors, zero warnings), complete (operationIds, described tags,
 * examples, CSV, partner webhooks), and the committed typed client (clients/typescript) is
 * generated from exactly this document. Then the client is used against the real API.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createGongjianClient } from '../../clients/typescript';
import { API_INFO, buildRoutes } from '../../src/api/app';
import { apiDocument, TAGS } from '../../src/api/openapi/document';
import { REQUEST_EXAMPLES } from '../../src/api/openapi/examples';
import { PartnerWebhook } from '../../src/api/openapi/webhooks';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startTestSystem, type TestSystem } from '../support/system';

const root = resolve(__dirname, '../..');
const REGENERATE = 'npm run client:generate';

const routes = buildRoutes({ config: loadConfig({ APP_ENV: 'test' }), pool: {} as never, temporal: {} as never, log: createLogger('silent', 'openapi') });
const doc = apiDocument(routes, API_INFO);
/** As scripts/openapi-document.js writes it. */
const text = `${JSON.stringify(doc, null, 2)}\n`;
const operations = (d: any) => [...Object.values(d.paths), ...Object.values(d.webhooks ?? {})]
  .flatMap((item: any) => ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).map((m) => item[m]));

describe('the OpenAPI document', () => {
  it('passes Redocly CLI\'s recommended rules with no error and no warning', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gj-openapi-')), 'openapi.json');
    writeFileSync(file, text);
    const run = promisify(execFile);
    const { stdout } = await run(join(root, 'node_modules/.bin/redocly'), ['lint', file, '--config', join(root, 'redocly.yaml'), '--format=json', '--max-problems', '1000'], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
      .catch((err: { stdout: string }) => ({ stdout: err.stdout })); // exits 1 on errors: the report is still on stdout
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);

  it('names every operation with a unique operationId and describes every tag', () => {
    const ids = operations(doc).map((op: any) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(routes.routes.length + Object.keys(doc.webhooks).length);
    for (const tag of doc.tags) expect(tag.description).toBe(TAGS[tag.name]);
    const used = new Set(operations(doc).flatMap((op: any) => op.tags));
    expect(doc.tags.map((t: { name: string }) => t.name).sort()).toEqual([...used].sort());
  });

  it('carries examples the routes themselves accept', () => {
    for (const [operationId, example] of Object.entries(REQUEST_EXAMPLES)) {
      const route = routes.routes.find((r) => r.operationId === operationId);
      expect(route?.body).toBeDefined();
      const parsed = route!.body!.safeParse(example);
      if (!parsed.success) throw new Error(`the example of ${operationId} is refused by its own schema: ${parsed.error.message}`);
      const op = operations(doc).find((o: any) => o.operationId === operationId);
      expect(op.requestBody.content['application/json'].example).toEqual(example);
    }
    expect(Object.keys(REQUEST_EXAMPLES)).toEqual(expect.arrayContaining(['createServiceRequest', 'createRegistration', 'createPartner', 'createApiKey']));
  });

  it('describes the CSV report and the partner webhooks', () => {
    const report = doc.paths['/v1/reports/summary'].get.responses['200'].content;
    expect(Object.keys(report).sort()).toEqual(['application/json', 'text/csv']);
    expect(report['text/csv'].example.split('\n')[0]).toMatch(/^community,label,total,/);
    expect(Object.keys(doc.webhooks).sort()).toEqual(['case.notice', 'order.dispatched', 'order.extension_decided', 'order.reminder', 'order.withdrawn', 'review.requested']);
    const dispatched = doc.webhooks['order.dispatched'].post;
    expect(dispatched.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['header:webhook-id', 'header:webhook-timestamp', 'header:webhook-signature', 'header:x-signature', 'header:x-delivery-id', 'header:x-event']);
    expect(PartnerWebhook.safeParse(doc.components.schemas.PartnerWebhook.example).success).toBe(true);
  });

  it('is the document the committed client was generated from', () => {
    const committed = readFileSync(join(root, 'clients/typescript/openapi.json'), 'utf8');
    if (committed !== text) {
      throw new Error(`clients/typescript/openapi.json is out of date with the routes: run \`${REGENERATE}\` and commit clients/typescript.`);
    }
    const header = readFileSync(join(root, 'clients/typescript/schema.d.ts'), 'utf8').split('\n', 1)[0];
    const sha = createHash('sha256').update(committed).digest('hex');
    if (!header.includes(`sha256 ${sha}`)) {
      throw new Error(`clients/typescript/schema.d.ts was not generated from the committed openapi.json: run \`${REGENERATE}\` and commit clients/typescript.`);
    }
  });
});

describe('the generated client against the real API', () => {
  let sys: TestSystem;
  beforeAll(async () => { sys = await startTestSystem(); });
  afterAll(async () => { await sys?.stop(); });

  it('serves the committed document and calls typed routes', async () => {
    const served = await (await fetch(`${sys.url}/openapi.json`)).text();
    expect(`${JSON.stringify(JSON.parse(served), null, 2)}\n`).toBe(text);
    const api = createGongjianClient(sys.url, sys.adminKey);
    const created = await api.POST('/v1/partners', {
      body: { name: '客户端物业', kind: 'property_company', categories: ['housing'], communities: [sys.community], capacity: 3, webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 'client-test-secret-0123456789' },
    });
    expect(created.response.status).toBe(201);
    const got = await api.GET('/v1/partners/{id}', { params: { path: { id: created.data!.id } } });
    expect(got.data).toMatchObject({ id: created.data!.id, name: '客户端物业', capacity: 3 });
    const refused = await createGongjianClient(sys.url).GET('/v1/partners/{id}', { params: { path: { id: created.data!.id } } });
    expect(refused.response.status).toBe(401);
    expect(refused.error).toMatchObject({ status: 401 });
  });
});
