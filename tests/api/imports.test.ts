/**
 * The needs list (需求清单) through the real API: a spreadsheet of the report's kind (Chinese
 * headers, 衣/食/住) becomes cases; a broken one names its rows and creates nothing; the same
 * file twice (or an import resumed after a crash) opens no case twice.
 */
import ExcelJS from 'exceljs';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let sys: TestSystem;
let staff: string;
let sim: PartnerSimulator;

beforeAll(async () => {
  sys = await startTestSystem({ TRACK_RATE_LIMIT_PER_MINUTE: '0' });
  staff = await sys.createKey('staff');
  sim = await startPartnerSimulator();
  await sys.createPartner({ name: '幸福里服务队', kind: 'volunteer_team', categories: ['clothing', 'food', 'housing'], communities: [sys.community], capacity: 100, webhookUrl: sim.url, webhookSecret: sim.secret });
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

async function upload(path: string, body: Buffer | string, contentType: string, key = staff) {
  const res = await fetch(`${sys.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
const casesIn = async (community: string) =>
  ((await sys.call('GET', `/v1/cases?community=${encodeURIComponent(community)}&limit=500`)).body.items as { id: string }[]).map((c) => c.id);
const done = (id: string) => eventually(async () => (await sys.call('GET', `/v1/imports/${id}`, { key: staff })).body, { accept: (b) => b?.status === 'done', what: `import ${id} done` });

/** A needs list as the communities keep it: Chinese headers, 衣/食/住, a BOM from Excel's "CSV UTF-8". */
const needsList = (community: string, rows: string[][]) =>
  `\ufeff姓名,电话,社区,小区,地址,类别,描述,紧急程度\r\n${rows.map((r) => r.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')).join('\r\n')}\r\n`;

it('turns a Chinese needs list into cases, and the same file again into none', async () => {
  const community = `${sys.community}-a`;
  const file = needsList(community, [
    ['王桂兰', '13904371001', community, '幸福里', '3号楼2单元101', '衣', '冬衣不够，需要棉衣两件', '普通'],
    ['李德福', '13904371002', community, '幸福里', '5号楼1单元302', '食', '独居老人，希望每周送餐', '紧急'],
    ['张淑珍', '139 0437 1003', community, '', '', '住', '屋顶漏雨, "很急"', ''],
  ]);
  const res = await upload('/v1/imports/service-requests', file, CSV);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ rows: 3, status: 'running' });
  expect(res.headers.get('location')).toBe(`/v1/imports/${res.body.id}`);
  // The import issues the codes itself (in batches) before it writes `done`; not the GET that lists them.
  await eventually(async () => (await sys.pool.query('SELECT status FROM imports WHERE id = $1', [res.body.id])).rows[0]?.status,
    { accept: (s) => s === 'done', what: 'the import row says done' });
  const coded = await sys.pool.query('SELECT case_id FROM tracking_codes WHERE case_id = ANY ($1::text[])', [res.body.caseIds]);
  expect(coded.rows.map((r) => r.case_id).sort()).toEqual([...res.body.caseIds].sort());
  const finished = await done(res.body.id);
  expect(finished.created).toBe(3);
  expect(finished.caseIds).toHaveLength(3);
  expect(Object.keys(finished.trackingCodes).sort()).toEqual([...finished.caseIds].sort());

  const second = await sys.call('GET', `/v1/service-requests/${finished.caseIds[1]}`, { key: staff });
  expect(second.body).toMatchObject({ category: 'food', urgency: 'urgent', channel: 'home_visit', resident: { name: '李德福', compound: '幸福里' } });
  const third = await sys.call('GET', `/v1/service-requests/${finished.caseIds[2]}`, { key: staff });
  expect(third.body).toMatchObject({ category: 'housing', urgency: 'normal', description: '屋顶漏雨, "很急"', resident: { phone: '139 0437 1003' } });
  await eventually(() => casesIn(community), { accept: (ids) => ids.length === 3, what: 'three cases in the read model' });

  const again = await upload('/v1/imports/service-requests', file, CSV);
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(res.body.id);
  expect(again.body.caseIds).toEqual(finished.caseIds);
  expect((await casesIn(community)).length).toBe(3);
});

it('reads an .xlsx with English headers and category names; a dry run opens nothing', async () => {
  const community = `${sys.community}-b`;
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('needs');
  sheet.addRow(['Name', 'Phone', 'Community', 'Category', 'Description', 'Urgency', 'Channel']);
  sheet.addRow(['Liu Yang', 13904372001, community, 'housing', 'broken window', 'urgent', 'phone']);
  sheet.addRow([]);
  sheet.addRow(['Chen Jie', '13904372002', community, 'CLOTHING', 'winter coat', 'normal', 'walk_in']);
  const file = Buffer.from(await wb.xlsx.writeBuffer());

  const dry = await upload('/v1/imports/service-requests?dryRun=true', file, XLSX);
  expect(dry.status).toBe(200);
  expect(dry.body).toEqual({ dryRun: true, rows: 2, status: 'valid' });
  expect(await casesIn(community)).toEqual([]);

  const res = await upload('/v1/imports/service-requests', file, XLSX);
  expect(res.status).toBe(202);
  const finished = await done(res.body.id);
  const first = await sys.call('GET', `/v1/service-requests/${finished.caseIds[0]}`, { key: staff });
  // A phone typed as a number in Excel is still the phone.
  expect(first.body).toMatchObject({ category: 'housing', urgency: 'urgent', channel: 'phone', resident: { name: 'Liu Yang', phone: '13904372001' } });
});

it('refuses a list with bad rows as a whole, naming every row and field', async () => {
  const community = `${sys.community}-c`;
  const file = needsList(community, [
    ['王桂兰', '13904373001', community, '', '', '衣', '棉衣', '普通'],
    ['李德福', 'not-a-phone', community, '', '', '食', '送餐', '普通'],
    ['张淑珍', '13904373003', community, '', '', '娱乐', '广场舞音响', '普通'],
    ['王桂兰', '13904373001', community, '', '', '衣', '棉衣', '普通'],
    ['', '13904373005', community, '', '', '住', '修门', '很急'],
  ]);
  const res = await upload('/v1/imports/service-requests', file, CSV);
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
  expect(paths).toEqual(['row 3.phone', 'row 4.category', 'row 5', 'row 6.urgency', 'row 6.name']);
  expect(res.body.detail).toContain('nothing was imported');
  expect(await casesIn(community)).toEqual([]);
});

it('names broken CSV quoting, a bad header and an empty workbook, and refuses other content types', async () => {
  const broken = await upload('/v1/imports/service-requests', '姓名,电话,社区,类别,描述\n王,139,"社区,住,x\n', CSV);
  expect(broken.status).toBe(400);
  expect(broken.body.errors[0].path).toMatch(/^row \d+$/);

  const header = await upload('/v1/imports/service-requests', '姓名,电话,社区,类别,描述,备注\n王,13904374001,c,住,x,y\n', CSV);
  expect(header.status).toBe(400);
  expect(header.body.errors.map((e: { path: string }) => e.path)).toEqual(['row 1.备注']);
  const missing = await upload('/v1/imports/service-requests', '姓名,社区,类别,描述\n王,c,住,x\n', CSV);
  expect(missing.body.errors.map((e: { path: string }) => e.path)).toEqual(['row 1.phone']);

  const noSheet = await upload('/v1/imports/service-requests', Buffer.from(await new ExcelJS.Workbook().xlsx.writeBuffer()), XLSX);
  expect(noSheet.status).toBe(400);
  expect(noSheet.body.title).toBeDefined();
  expect(noSheet.body.detail).toBe('the workbook has no sheet');
  const notZip = await upload('/v1/imports/service-requests', Buffer.from('PK\x03\x04 not really a zip'), XLSX);
  expect(notZip.status).toBe(400);

  const nul = await upload('/v1/imports/service-requests', `姓名,电话,社区,类别,描述\n王\u0000,13904374001,c,住,x\n`, CSV);
  expect(nul.status).toBe(400);
  expect(nul.body.errors[0].path).toBe('row 2.姓名');

  const gbk = await upload('/v1/imports/service-requests', Buffer.from([0xd0, 0xd5, 0xc3, 0xfb, 0x0a]), CSV);
  expect(gbk.status).toBe(400);
  expect(gbk.body.errors[0].message).toContain('UTF-8');

  expect((await upload('/v1/imports/service-requests', 'a,b\n', 'text/plain')).status).toBe(415);
  expect((await upload('/v1/imports/service-requests', '{"a":1}', 'application/json')).status).toBe(415);
  // CSV is taken on the import routes only.
  expect((await upload('/v1/service-requests', 'a,b\n', CSV)).status).toBe(415);
});

it('resumes an import whose process died without opening any case twice', async () => {
  const community = `${sys.community}-d`;
  const rows = Array.from({ length: 12 }, (_, i) => [`居民${i}`, `139043750${String(i).padStart(2, '0')}`, community, '', '', '用', `需要拐杖${i}`, '普通']);
  const file = needsList(community, rows);
  const res = await upload('/v1/imports/service-requests', file, CSV);
  const finished = await done(res.body.id);
  // As if the API had died mid-import: the row still says running, no progress for minutes.
  await sys.pool.query(`UPDATE imports SET status = 'running', created = 5, updated_at = now() - interval '5 minutes' WHERE id = $1`, [res.body.id]);
  const again = await upload('/v1/imports/service-requests', file, CSV);
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ id: res.body.id, status: 'running' });
  const resumed = await done(res.body.id);
  expect(resumed.created).toBe(12);
  expect(resumed.caseIds).toEqual(finished.caseIds);
  await eventually(() => casesIn(community), { accept: (ids) => ids.length === 12, what: 'twelve cases' });
  expect(new Set(await casesIn(community))).toEqual(new Set(finished.caseIds));
});

it('keeps a key limited to communities to its own communities', async () => {
  const limited = await sys.createKey('staff', { communities: [sys.community] });
  const file = needsList(sys.community, [['王', '13904376001', `${sys.community}-elsewhere`, '', '', '住', '修门', '普通']]);
  const res = await upload('/v1/imports/service-requests', file, CSV, limited);
  expect(res.status).toBe(403);
  expect(res.body.errors[0].path).toBe('row 2.community');
});
