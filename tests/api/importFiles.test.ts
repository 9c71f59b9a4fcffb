/**
 * The file side of intake: the partner roster, templates, exports of /v1/cases, and the
 * limits (10,000 rows, 10 MB, zip bombs) through the real API.
 */
import ExcelJS from 'exceljs';
import { eventually } from '../support/eventually';
import { startTestSystem, type TestSystem } from '../support/system';
import { deflatedZeros, zipOf } from '../support/zipFiles';

const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let sys: TestSystem;
let supervisor: string;

beforeAll(async () => {
  sys = await startTestSystem();
  supervisor = await sys.createKey('supervisor');
});
afterAll(async () => sys?.stop());

async function upload(path: string, body: Buffer | string, contentType: string, key = supervisor) {
  const res = await fetch(`${sys.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const get = (path: string, accept: string) => fetch(`${sys.url}${path}`, { headers: { authorization: `Bearer ${supervisor}`, accept } });
const partnersIn = async (community: string) =>
  ((await sys.call('GET', `/v1/partners?community=${encodeURIComponent(community)}&limit=500`)).body.items as { name: string; kind: string; categories: string[]; capacity: number }[]);

it('imports the partner roster once, whatever its language', async () => {
  const community = `${sys.community}-roster`;
  const file = `\ufeff名称,类型,服务类别,服务社区,容量,回调地址,回调密钥,启用\n` +
    `南湖物业,物业公司,住、用,${community},20,http://127.0.0.1:9/hook,a-roster-secret-0123456789,是\n` +
    `"爱心志愿服务队",志愿服务队,"衣,食",${community},5,http://127.0.0.1:9/hook,a-roster-secret-0123456789,否\n`;
  const bad = await upload('/v1/imports/partners', file.replace(',20,', ',twenty,').replace('志愿服务队,"衣', '志愿队,"衣'), CSV);
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['row 2.capacity', 'row 3.kind']);
  expect(await partnersIn(community)).toEqual([]);

  const res = await upload('/v1/imports/partners', file, CSV);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ status: 'done', rows: 2, created: 2 });
  const partners = await partnersIn(community);
  expect(partners.map((p) => [p.name, p.kind, p.categories, p.capacity]).sort()).toEqual([
    ['南湖物业', 'property_company', ['housing', 'daily_goods'], 20],
    ['爱心志愿服务队', 'volunteer_team', ['clothing', 'food'], 5],
  ].sort());
  const again = await upload('/v1/imports/partners', file, CSV);
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(res.body.id);
  expect(await partnersIn(community)).toHaveLength(2);
  // Staff may not register partners.
  expect((await upload('/v1/imports/partners', file, CSV, await sys.createKey('staff'))).status).toBe(403);
});

it('gives empty templates to fill in, as CSV with a BOM and as .xlsx', async () => {
  const csv = await get('/v1/imports/service-requests/template?format=csv', '*/*');
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-disposition')).toContain('service-requests-template.csv');
  const text = Buffer.from(await csv.arrayBuffer()).toString('utf8');
  expect(text.startsWith('\ufeff姓名,电话,社区,小区,网格,地址,类别,描述,紧急程度,渠道')).toBe(true);

  const xlsx = await get('/v1/imports/partners/template?format=xlsx&lang=en', '*/*');
  expect(xlsx.headers.get('content-type')).toContain(XLSX);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
  expect((wb.worksheets[0].getRow(1).values as unknown[]).slice(1, 4)).toEqual(['name', 'kind', 'categories']);
  // A filled-in template imports (round trip).
  const filled = `${text}王桂兰,13904378001,${sys.community},,,,衣,棉衣,,\n`;
  expect((await upload('/v1/imports/service-requests?dryRun=true', filled, CSV)).status).toBe(200);
  expect((await get('/v1/imports/other/template', '*/*')).status).toBe(400);
});

it('exports /v1/cases as CSV (BOM, file name) and .xlsx', async () => {
  const community = `${sys.community}-export`;
  const file = `姓名,电话,社区,类别,描述\n王桂兰,13904379001,${community},衣,棉衣\n李德福,13904379002,${community},食,送餐\n`;
  const res = await upload('/v1/imports/service-requests', file, CSV);
  const finished = await eventually(async () => (await sys.call('GET', `/v1/imports/${res.body.id}`)).body, { accept: (b) => b.status === 'done' });
  await eventually(async () => (await sys.call('GET', `/v1/cases?community=${encodeURIComponent(community)}`)).body.items.length === 2);

  const csv = await get(`/v1/cases?community=${encodeURIComponent(community)}`, 'text/csv');
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toContain('text/csv');
  expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="cases-\d{4}-\d{2}-\d{2}\.csv"$/);
  const text = Buffer.from(await csv.arrayBuffer()).toString('utf8');
  expect(text.charCodeAt(0)).toBe(0xfeff);
  const lines = text.slice(1).trim().split(/\r?\n/);
  expect(lines[0]).toMatch(/^id,type,status,category/);
  expect(lines).toHaveLength(3);
  for (const id of finished.caseIds) expect(text).toContain(id);
  expect(text).toContain(community);
  expect(text).not.toContain('王桂兰'); // the list never carries residents' names, nor does its export

  const xlsx = await get(`/v1/cases?community=${encodeURIComponent(community)}`, XLSX);
  expect(xlsx.headers.get('content-disposition')).toContain('.xlsx');
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
  expect(wb.worksheets[0].actualRowCount).toBe(3);
  expect((await get('/v1/cases?limit=1', 'application/json')).headers.get('content-type')).toContain('application/json');
});

it('imports 10,000 rows in a dry run, and refuses 10,001 rows or 10 MB with 413', async () => {
  const head = '姓名,电话,社区,类别,描述\n';
  const row = (i: number) => `居民${i},1390437${String(i).padStart(4, '0')},${sys.community},住,第${i}户需要修门\n`;
  const ten = head + Array.from({ length: 10_000 }, (_, i) => row(i)).join('');
  const ok = await upload('/v1/imports/service-requests?dryRun=true', ten, CSV);
  expect(ok).toMatchObject({ status: 200, body: { rows: 10_000 } });
  expect((await upload('/v1/imports/service-requests?dryRun=true', ten + row(10_000), CSV)).status).toBe(413);
  const big = head + 'x'.repeat(10 * 1024 * 1024 + 1);
  expect((await upload('/v1/imports/service-requests', big, CSV)).status).toBe(413);
});

it('refuses a zip bomb dressed as .xlsx without inflating it, and a part that lies about its size', async () => {
  const zeros = await deflatedZeros(128);
  const bomb = zipOf([{ name: '[Content_Types].xml', ...zeros }]);
  expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
  const before = process.memoryUsage().rss;
  const started = Date.now();
  const res = await upload('/v1/imports/service-requests', bomb, XLSX);
  expect(res.status).toBe(413);
  expect(res.body.detail).toMatch(/inflate|zip bomb/);
  // The API runs in this process: had it inflated 128 MB, this process would have grown by as much.
  expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  expect(Date.now() - started).toBeLessThan(5000);

  const liar = zipOf([{ name: 'xl/workbook.xml', ...(await deflatedZeros(20)), declaredSize: 1000 }]);
  const lied = await upload('/v1/imports/service-requests', liar, XLSX);
  expect([400, 413]).toContain(lied.status);
  expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
});
