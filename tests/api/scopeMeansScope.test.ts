/**
 * Scope means scope: a supervisor limited to communities cannot reach beyond them through
 * partners or global policies; a partner loses a case's free text once its order has ended;
 * the codec encodes for admins only, and its browser sessions can be ended.
 */
import { eventually } from '../support/eventually';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let sim: PartnerSimulator;
beforeAll(async () => {
  sys = await startTestSystem();
  sim = await startPartnerSimulator();
});
afterAll(async () => {
  await sim?.stop();
  await sys?.stop();
});

const partnerBody = (communities: string[]) => ({ name: '社区超市', kind: 'enterprise', categories: ['food'], communities, capacity: 0 });

describe('a supervisor limited to communities', () => {
  let limited: string;
  let unscoped: string;
  let mine: string;
  let shared: string;
  beforeAll(async () => {
    limited = await sys.createKey('supervisor', { communities: [sys.community] });
    unscoped = await sys.createKey('supervisor');
    mine = (await sys.createPartner({ name: '本社区物业', webhookUrl: sim.url, webhookSecret: sim.secret })).id;
    shared = (await sys.createPartner({ name: '两个社区的物业', communities: [sys.community, `${sys.community}-邻`], webhookUrl: sim.url, webhookSecret: sim.secret })).id;
  });

  it('cannot re-point a partner\'s webhook or secret, even of its own community', async () => {
    for (const body of [{ webhookUrl: 'http://127.0.0.1:1/evil' }, { webhookSecret: 'attacker-chosen-secret-0123' }]) {
      const res = await sys.call('PATCH', `/v1/partners/${mine}`, { key: limited, body });
      expect({ body, status: res.status }).toEqual({ body, status: 403 });
      expect(res.body.detail).toMatch(/not limited to communities/);
    }
    expect((await sys.call('PATCH', `/v1/partners/${mine}`, { key: unscoped, body: { webhookSecret: 'new-secret-from-the-city-0123' } })).status).toBe(200);
  });

  it('changes only partners wholly within its communities, and not beyond them', async () => {
    expect((await sys.call('PATCH', `/v1/partners/${mine}`, { key: limited, body: { capacity: 7 } })).status).toBe(200);
    expect((await sys.call('PATCH', `/v1/partners/${shared}`, { key: limited, body: { capacity: 7 } })).status).toBe(403);
    expect((await sys.call('PATCH', `/v1/partners/${mine}`, { key: limited, body: { communities: [sys.community, '别的社区'] } })).status).toBe(403);
  });

  it('registers partners for its own communities only', async () => {
    expect((await sys.call('POST', '/v1/partners', { key: limited, body: partnerBody([sys.community]) })).status).toBe(201);
    expect((await sys.call('POST', '/v1/partners', { key: limited, body: partnerBody([sys.community, '别的社区']) })).status).toBe(403);
    expect((await sys.call('POST', '/v1/partners', { key: unscoped, body: partnerBody([sys.community, '别的社区']) })).status).toBe(201);
  });

  it('cannot change the global SLA policies', async () => {
    const policy = { caseType: 'registration', surveyWindow: 'P9D' };
    expect((await sys.call('PUT', '/v1/sla-policies', { key: limited, body: policy })).status).toBe(403);
    const items = (await sys.call('GET', '/v1/sla-policies', { key: limited })).body.items as { surveyWindow?: string }[];
    expect(items.some((p) => p.surveyWindow === 'P9D')).toBe(false);
    expect((await sys.call('PUT', '/v1/sla-policies', { key: unscoped, body: policy })).status).toBe(200);
  });
});

describe('a partner whose order has ended', () => {
  it('no longer sees the description, notes, flags or the survey comment, but still the outcome', async () => {
    const community = `${sys.community}-隐私`;
    const partner = await sys.createPartner({ name: '上门维修队', communities: [community], webhookUrl: sim.url, webhookSecret: sim.secret });
    const staff = await sys.createKey('staff');
    const created = await sys.call('POST', '/v1/service-requests', {
      key: staff,
      body: { resident: { name: '钱奶奶', phone: '13600005555', community, flags: ['elderly_alone'] }, category: 'housing', description: '独居老人家里漏水，钥匙在邻居家', urgency: 'urgent', channel: 'home_visit' },
    });
    const id = created.body.id as string;
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${id}`)).body, {
      accept: (c: { status: string; assignedPartnerId: string }) => c.status === 'awaiting_ack' && c.assignedPartnerId === partner.id, what: 'dispatch',
    });
    const active = (await sys.call('GET', `/v1/service-requests/${id}`, { key: partner.key })).body;
    expect(active.description).toContain('钥匙在邻居家');
    expect(active.resident.flags).toEqual(['elderly_alone']);

    const act = async (key: string, action: string, body: unknown) => expect((await sys.call('POST', `/v1/service-requests/${id}/${action}`, { key, body })).status).toBe(200);
    await act(partner.key, 'accept', {});
    await act(partner.key, 'complete', { note: '邻居王阿姨开的门，老人腿脚不便', hoursSpent: 2 });
    await act(staff, 'follow-up', { resolved: true, note: '老人说修好了' });
    await act(staff, 'survey', { score: 3, comment: '师傅态度不好，老人不敢说' });

    const ended = await sys.call('GET', `/v1/service-requests/${id}`, { key: partner.key });
    expect(ended.status).toBe(200);
    expect(ended.body).not.toHaveProperty('description');
    expect(ended.body.resident).toEqual({ community });
    expect(ended.body.completion).toEqual({ hoursSpent: 2, at: expect.any(String) });
    expect(ended.body.survey).toEqual({ score: 3, comment: null, at: expect.any(String) });
    expect(JSON.stringify(ended.body)).not.toMatch(/钥匙|王阿姨|态度|elderly_alone|钱奶奶|13600005555/);
    // Staff still see all of it.
    const staffView = (await sys.call('GET', `/v1/service-requests/${id}`, { key: staff })).body;
    expect(staffView.survey.comment).toBe('师傅态度不好，老人不敢说');
    expect(staffView.description).toContain('钥匙在邻居家');
  });
});

describe('a linked institution of a registration case', () => {
  it('sees applicants by name only and not the free text written about them', async () => {
    const bank = await sys.createPartner({ name: '农业银行', kind: 'linked_institution', institution: 'bank', categories: [], communities: [], webhookUrl: sim.url, webhookSecret: sim.secret });
    const staff = await sys.createKey('staff');
    const created = await sys.call('POST', '/v1/registrations', {
      key: staff,
      body: {
        applicants: [{ name: '周先生', idNumber: '220102198001011234', phone: '13500003333' }], property: { address: '人民大街 1 号' },
        businessType: 'mortgage', documents: [], delivery: 'window', linkedInstitutions: [bank.id], community: sys.community,
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await sys.call('POST', `/v1/registrations/${id}/cancel`, { key: staff, body: { reason: '申请人离婚纠纷未了' } })).status).toBe(200);
    const view = await eventually(async () => (await sys.call('GET', `/v1/registrations/${id}`, { key: bank.key })).body, {
      accept: (v: { withdrawal: unknown; applicants: unknown }) => v.withdrawal !== null, what: 'the withdrawal',
    });
    expect(view.applicants).toEqual([{ name: '周先生' }]);
    expect(view.withdrawal).not.toHaveProperty('reason');
    expect(JSON.stringify(view)).not.toMatch(/离婚|220102198001011234|13500003333/);
    expect((await sys.call('GET', `/v1/registrations/${id}`, { key: staff })).body.withdrawal.reason).toBe('申请人离婚纠纷未了');
  });
});

describe('the codec', () => {
  const payloads = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') }] };

  it('encodes for admins only; supervisors may still decode', async () => {
    const supervisor = await sys.createKey('supervisor');
    expect((await sys.call('POST', '/codec/encode', { key: supervisor, body: payloads })).status).toBe(403);
    const encoded = await sys.call('POST', '/codec/encode', { body: payloads });
    expect(encoded.status).toBe(200);
    const decoded = await sys.call('POST', '/codec/decode', { key: supervisor, body: encoded.body });
    expect(decoded.status).toBe(200);
    expect(decoded.body).toEqual(payloads);
  });

  it('ends a browser session at logout, everywhere the cookie was copied to; and when its key is revoked', async () => {
    const created = await sys.call('POST', '/v1/api-keys', { body: { role: 'supervisor', name: 'night shift' } });
    const signIn = async () => (await sys.call('POST', '/codec/session', { key: created.body.key })).headers.get('set-cookie')!.split(';')[0];
    const decode = async (cookie: string) => (await sys.call('POST', '/codec/decode', { key: '', body: payloads, headers: { cookie } })).status;

    const cookie = await signIn();
    expect(await decode(cookie)).toBe(200);
    const out = await sys.call('POST', '/codec/logout', { key: '', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^gj_codec=;.*Max-Age=0/);
    // The same cookie, kept by someone else, no longer works.
    expect(await decode(cookie)).toBe(401);

    const again = await signIn();
    expect(await decode(again)).toBe(200);
    expect((await sys.call('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(200);
    expect(await decode(again)).toBe(401);
  });
});
