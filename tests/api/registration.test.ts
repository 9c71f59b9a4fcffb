/**
 * Registration cases through the REST API alone, against the real system: a real Temporal
 * dev server and worker, real Postgres, and partner simulators for the three departments
 * and a bank, which check every webhook's signature.
 */
import { randomUUID } from 'node:crypto';
import { createActivities } from '../../src/activities';
import { CERTIFICATE_NO_PATTERN, shanghaiDate } from '../../src/domain/registration';
import { DEPARTMENTS, type Department } from '../../src/domain/vocabulary';
import { eventually } from '../support/eventually';
import { type PartnerSimulator, startPartnerSimulator } from '../support/partnerSimulator';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
let staff: string;
const departments = {} as Record<Department, { id: string; key: string; sim: PartnerSimulator }>;
let bank: { id: string; key: string; sim: PartnerSimulator };

/** A department partner serving one community, so cases of this file go to these simulators only. */
async function departmentPartner(department: Department, community: string) {
  const sim = await startPartnerSimulator();
  const partner = await sys.createPartner({
    name: `辽源市${department}`, kind: 'department', department, categories: [], communities: [community],
    webhookUrl: sim.url, webhookSecret: sim.secret,
  });
  return { ...partner, sim };
}

beforeAll(async () => {
  sys = await startTestSystem();
  staff = await sys.createKey('staff', { communities: [sys.community] });
  for (const d of DEPARTMENTS) departments[d] = await departmentPartner(d, sys.community);
  const bankSim = await startPartnerSimulator();
  bank = { ...(await sys.createPartner({
    name: '工商银行辽源分行', kind: 'linked_institution', institution: 'bank', categories: [], communities: [],
    webhookUrl: bankSim.url, webhookSecret: bankSim.secret,
  })), sim: bankSim };
});
afterAll(async () => {
  await Promise.all([...Object.values(departments).map((d) => d.sim.stop()), bank?.sim.stop()]);
  await sys?.stop();
});

const applicant = (name: string, idNumber: string) => ({ name, idNumber, phone: '13904370000' });
const property = { address: '辽源市龙山区向阳街12号', unitNo: '3-2-101', certificateNo: '吉(2019)辽源市不动产权第0004567号' };
const open = (body: Record<string, unknown>, headers?: Record<string, string>) =>
  sys.call('POST', '/v1/registrations', { key: staff, body: { community: sys.community, property, ...body }, headers });
const registration = async (id: string, key = staff) => (await sys.call('GET', `/v1/registrations/${id}`, { key })).body;

/** Wait for every department's `review.requested` of a case (signed), then let each approve through the API. */
async function approveAll(caseId: string): Promise<void> {
  for (const d of DEPARTMENTS) {
    const { sim, key } = departments[d];
    const request = await eventually(() => sim.received.find((r) => r.body.caseId === caseId && r.event === 'review.requested'), {
      what: `review.requested to ${d}`,
    });
    expect(request!.signatureValid).toBe(true);
    expect(request!.body).toMatchObject({ caseType: 'registration', case: { department: d } });
    const answer = await sys.call('POST', `/v1/registrations/${caseId}/reviews/${d}`, { key, body: { approved: true } });
    expect(answer.status).toBe(200);
  }
}

function expectTwentyMinuteMeasure(r: any): void {
  expect(r.certificateNo).toMatch(CERTIFICATE_NO_PATTERN);
  expect(r.certificateNo).toMatch(/^吉\(\d{4}\)辽源市不动产权第\d{7}号$/);
  expect(r.completionTargetMs).toBe(20 * 60_000);
  expect(r.timeToCertificateMs).toBe(Date.parse(r.certificateIssuedAt) - Date.parse(r.acceptedAt));
  expect(r.timeToCertificateMs).toBeLessThan(20 * 60_000);
  expect(r.withinCompletionTarget).toBe(true);
  expect(r.sameDay).toBe(shanghaiDate(r.acceptedAt) === shanghaiDate(r.certificateIssuedAt));
}

describe('the 93-year-old who cannot come: a transfer delivered by home visit (上门服务)', () => {
  it('runs from one-window intake to the survey through the REST API alone', async () => {
    const opened = await open({
      applicants: [applicant('张桂兰', '22040219330512002X'), applicant('张建国', '220402196205120011')],
      businessType: 'transfer', delivery: 'home_visit', documents: ['applicant_id', 'property_certificate', 'sale_contract'],
    });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ status: 'awaiting_documents', missingDocuments: ['tax_receipt'], acceptedAt: null });
    const id = opened.body.id;
    const waiting = await eventually(() => registration(id), { accept: (r) => r.deadlines?.supplement !== undefined, what: 'supplement deadline' });
    expect(waiting.status).toBe('awaiting_documents');

    const supplemented = await sys.call('POST', `/v1/registrations/${id}/documents`, { key: staff, body: { documents: ['tax_receipt'] } });
    expect(supplemented.body).toMatchObject({ status: 'in_review', missingDocuments: [] });

    // Only the department a review was sent to may answer it; nobody else on the case at all.
    await eventually(() => registration(id), { accept: (r) => r.reviews?.tax?.partnerId === departments.tax.id, what: 'tax reviewer' });
    expect((await sys.call('POST', `/v1/registrations/${id}/reviews/tax`, { key: departments.housing.key, body: { approved: true } })).status).toBe(403);
    expect((await sys.call('POST', `/v1/registrations/${id}/reviews/tax`, { key: bank.key, body: { approved: true } })).status).toBe(403);
    expect((await sys.call('POST', `/v1/registrations/${id}/reviews/tax`, { key: departments.tax.key, body: { approved: false } })).status).toBe(400);

    await approveAll(id);
    const issued = await eventually(() => registration(id), { accept: (r) => r.status === 'awaiting_delivery', what: 'certificate issued' });
    expectTwentyMinuteMeasure(issued);
    expect(issued.reviews).toMatchObject({
      tax: { status: 'approved', partnerId: departments.tax.id }, housing: { status: 'approved' }, natural_resources: { status: 'approved' },
    });

    const delivered = await sys.call('POST', `/v1/registrations/${id}/delivered`, { key: staff, body: { note: '工作人员上门送证，老人在家签收' } });
    expect(delivered.body).toMatchObject({ status: 'awaiting_survey', delivered: { method: 'home_visit' }, deadlines: { survey: expect.any(String) } });
    const closed = await sys.call('POST', `/v1/registrations/${id}/survey`, { key: staff, body: { score: 5, comment: '不用跑腿，证送到家' } });
    expect(closed.body).toMatchObject({ status: 'closed', outcome: 'satisfied' });
    expect((await sys.call('POST', `/v1/registrations/${id}/reviews/tax`, { key: departments.tax.key, body: { approved: true } })).status).toBe(409);

    const history = await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`)).body as any[], {
      accept: (h) => h.some((e) => e.type === 'closed'), what: 'closed in the timeline',
    });
    expect(history.map((e) => e.type)).toEqual(expect.arrayContaining([
      'intake', 'documents_missing', 'documents_supplemented', 'accepted', 'review_requested', 'notification_delivered',
      'review_approved', 'certificate_issued', 'delivered', 'survey', 'closed',
    ]));
    const row = (await sys.pool.query('SELECT * FROM cases WHERE id = $1', [id])).rows[0];
    expect(row).toMatchObject({ type: 'registration', category: 'transfer', community: sys.community, status: 'closed', outcome: 'satisfied' });
    expect(row.acknowledged_at.toISOString()).toBe(issued.acceptedAt);
    expect(row.completed_at.toISOString()).toBe(issued.certificateIssuedAt);
    expect(row.details).toMatchObject({
      certificateNo: issued.certificateNo, timeToCertificateMs: issued.timeToCertificateMs, completionTargetMs: 20 * 60_000,
      withinCompletionTarget: true, sameDay: issued.sameDay,
    });
  });
});

describe('a bank mortgage: the bank hears of it without the applicant going back (不动产+银行)', () => {
  it('notifies the bank with the certificate number as soon as it is issued, before delivery', async () => {
    const opened = await open({
      applicants: [applicant('王强', '220402198805120031')], businessType: 'mortgage', delivery: 'window', linkedInstitutions: [bank.id],
      documents: ['applicant_id', 'property_certificate', 'mortgage_contract', 'loan_contract'],
    }, { 'Idempotency-Key': `mortgage-${randomUUID()}` });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ status: 'in_review', missingDocuments: [], linkedInstitutions: [bank.id] });
    const id = opened.body.id;

    await approveAll(id);
    const issued = await eventually(() => registration(id), { accept: (r) => r.status === 'awaiting_delivery', what: 'certificate issued' });
    expectTwentyMinuteMeasure(issued);
    const late = await sys.call('POST', `/v1/registrations/${id}/cancel`, { key: staff, body: { reason: '不办了' } });
    expect(late.status).toBe(409);
    expect(late.body.state).toBe('awaiting_delivery');

    // On record: the bank is told while the certificate still waits at the window.
    const notice = await eventually(() => bank.sim.received.find((r) => r.body.caseId === id && r.event === 'case.notice'), { what: 'case.notice to the bank' });
    expect((await registration(id)).status).toBe('awaiting_delivery');
    expect(notice!.signatureValid).toBe(true);
    expect(notice!.body.case).toMatchObject({ notice: 'registration_completed', businessType: 'mortgage', certificateNo: issued.certificateNo, applicants: [{ name: '王强' }] });
    expect(JSON.stringify(notice!.body)).not.toContain('220402198805120031');

    // The bank may read the case it was told of, without the applicant's ID number.
    const seenByBank = await registration(id, bank.key);
    expect(seenByBank).toMatchObject({ certificateNo: issued.certificateNo, applicants: [{ name: '王强' }] });
    expect(seenByBank.applicants[0].idNumber).toBeUndefined();

    await sys.call('POST', `/v1/registrations/${id}/delivered`, { key: staff, body: {} });
    await eventually(async () => (await sys.call('GET', `/v1/cases/${id}/history`)).body as any[], {
      accept: (h) => h.some((e) => e.type === 'delivered'), what: 'delivered in the timeline',
    });
    expect(bank.sim.received.filter((r) => r.body.caseId === id && r.event === 'case.notice')).toHaveLength(1); // not told twice
  });
});

describe('intake validation', () => {
  it('is described in the OpenAPI document', async () => {
    const doc = (await sys.call('GET', '/openapi.json', { key: '' })).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/v1/registrations', '/v1/registrations/{id}', '/v1/registrations/{id}/documents', '/v1/registrations/{id}/reviews/{department}',
      '/v1/registrations/{id}/delivered', '/v1/registrations/{id}/survey', '/v1/registrations/{id}/cancel',
    ]));
    expect(doc.components.schemas.CreateRegistration.properties.documents.items.enum).toContain('mortgage_contract');
    expect(doc.components.schemas.Registration.properties).toHaveProperty('withinCompletionTarget');
  });


  const valid = { applicants: [applicant('王强', '220402198805120031')], businessType: 'change', delivery: 'post', documents: ['applicant_id'] };

  it('names each invalid field: ID number format, unknown documents, linked institutions that are not ones', async () => {
    const bad = await open({ ...valid, applicants: [applicant('王强', '22040219880512003')], documents: ['passport'] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['body.applicants.0.idNumber', 'body.documents.0']));

    const unknown = await open({ ...valid, linkedInstitutions: [bank.id, 'no-such-partner', departments.tax.id] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      { path: 'body.linkedInstitutions.1', message: expect.stringContaining('does not exist') },
      { path: 'body.linkedInstitutions.2', message: expect.stringContaining('not a linked institution') },
    ]);
  });

  it('honours Idempotency-Key and keeps staff to their communities', async () => {
    const headers = { 'Idempotency-Key': `change-${randomUUID()}` };
    const first = await open(valid, headers);
    const again = await open(valid, headers);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);
    expect((await open({ ...valid, community: '另一个社区' })).status).toBe(403);
    expect((await sys.call('POST', `/v1/registrations/${first.body.id}/cancel`, { key: staff, body: { reason: '申请人撤回' } })).body.status).toBe('withdrawn');
  });

  it('scopes an Idempotency-Key to its endpoint: the same key for a resident request opens another case, with another id', async () => {
    const headers = { 'Idempotency-Key': `shared-${randomUUID()}` };
    const reg = await open(valid, headers);
    const request = await sys.call('POST', '/v1/service-requests', { key: staff, headers, body: {
      resident: { name: '王强', phone: '13904370000', community: sys.community, address: '向阳街12号' },
      category: 'housing', description: '楼道灯坏了', urgency: 'normal', channel: 'walk_in',
    } });
    expect([reg.status, request.status]).toEqual([201, 201]);
    expect(request.body.id).not.toBe(reg.body.id);
    // Each keeps its own case: the read model has one row per id, of its own type.
    const rows = await eventually(async () => (await sys.pool.query<{ id: string; type: string }>(
      'SELECT id, type FROM cases WHERE id = ANY($1) ORDER BY type', [[reg.body.id, request.body.id]])).rows,
    { accept: (r) => r.length === 2, what: 'both cases in the read model' });
    expect(rows).toEqual([{ id: reg.body.id, type: 'registration' }, { id: request.body.id, type: 'service_request' }]);
    expect((await open(valid, headers)).body.id).toBe(reg.body.id);
  });
});

describe('reviewers and certificate numbers', () => {
  it('sends a review to the department partner with the fewest open reviews', async () => {
    const community = `社区-${randomUUID().slice(0, 8)}`;
    const others = await Promise.all((['tax', 'natural_resources'] as const).map((d) => departmentPartner(d, community)));
    const housing = await Promise.all([departmentPartner('housing', community), departmentPartner('housing', community)]);
    const supervisor = await sys.createKey('supervisor');
    const openIn = async () => (await sys.call('POST', '/v1/registrations', { key: supervisor, body: {
      community, property, applicants: [applicant('赵敏', '220402199001010022')], businessType: 'cancellation', delivery: 'window',
      documents: ['applicant_id', 'property_certificate', 'cancellation_evidence'],
    } })).body.id as string;
    const housingReviewer = (id: string) => eventually(async () => (await registration(id, supervisor)).reviews?.housing?.partnerId, { what: 'housing reviewer' });

    const first = await openIn();
    const busy = await housingReviewer(first);
    const second = await openIn();
    const free = await housingReviewer(second);
    expect(new Set([busy, free])).toEqual(new Set(housing.map((h) => h.id)));

    // The second reviewer answers: it now has no open review, though it was asked last.
    const freeKey = housing.find((h) => h.id === free)!.key;
    expect((await sys.call('POST', `/v1/registrations/${second}/reviews/housing`, { key: freeKey, body: { approved: true } })).status).toBe(200);
    await eventually(async () => (await sys.pool.query(
      `SELECT details->'reviews'->'housing'->>'status' AS s FROM cases WHERE id = $1`, [second])).rows[0]?.s === 'approved', { what: 'answer in the read model' });
    expect(await housingReviewer(await openIn())).toBe(free);

    // Let the review requests arrive before the simulators go away.
    const received = () => [...others, ...housing].map((p) => p.sim.received.filter((r) => r.event === 'review.requested').length);
    await eventually(() => received().reduce((a, b) => a + b) === 9, { what: 'review requests delivered' });
    await Promise.all([...others, ...housing].map((p) => p.sim.stop()));
  });

  it('draws each case one number from the sequence, the same one on a retry', async () => {
    const { issueCertificateNumber } = createActivities({ pool: sys.pool });
    const caseId = randomUUID();
    const first = await issueCertificateNumber({ caseId, year: 2026 });
    const retried = await issueCertificateNumber({ caseId, year: 2026 });
    const next = await issueCertificateNumber({ caseId: randomUUID(), year: 2026 });
    expect(first.certificateNo).toMatch(/^吉\(2026\)辽源市不动产权第\d{7}号$/);
    expect(retried).toEqual(first);
    expect(next.sequence).toBeGreaterThan(first.sequence);
  });
});

describe('a supervisor sends a pending review to another department partner', () => {
  it('withdraws the old request (the old reviewer is told), sends a new one, and refuses what it cannot do', async () => {
    const community = `社区-${randomUUID().slice(0, 8)}`;
    const partners = await Promise.all(DEPARTMENTS.map((d) => departmentPartner(d, community)));
    const [tax, housing] = partners;
    const supervisor = await sys.createKey('supervisor');
    const opened = await sys.call('POST', '/v1/registrations', { key: supervisor, body: {
      community, property, applicants: [applicant('孙丽', '220402199203030044')], businessType: 'change', delivery: 'post',
      documents: ['applicant_id', 'property_certificate', 'change_evidence'],
    } });
    const id = opened.body.id as string;
    const requestTo = (p: { sim: PartnerSimulator }, event = 'review.requested') =>
      eventually(() => p.sim.received.find((r) => r.body.caseId === id && r.event === event), { what: `${event} of ${id}` });
    const oldRequest = (await requestTo(housing))!;
    const assign = (department: string, partnerId: unknown, key = supervisor) =>
      sys.call('POST', `/v1/registrations/${id}/reviews/${department}/assign`, { key, body: { partnerId } });

    // Only an active partner of that department, named in the error.
    const other = await departmentPartner('housing', community);
    const retired = await departmentPartner('housing', community);
    expect((await sys.call('PATCH', `/v1/partners/${retired.id}`, { body: { active: false } })).status).toBe(200);
    for (const [partnerId, message] of [
      ['no-such-partner', 'does not exist'], [tax.id, 'is not a housing department partner'], [bank.id, 'is not a housing'], [retired.id, 'is not active'],
    ]) {
      const refused = await assign('housing', partnerId);
      expect({ partnerId, status: refused.status, errors: refused.body.errors }).toEqual({
        partnerId, status: 400, errors: [{ path: 'body.partnerId', message: expect.stringContaining(message) }],
      });
    }
    expect((await assign('housing', 42)).body.errors[0].path).toBe('body.partnerId');
    expect((await assign('housing', other.id, staff)).status).toBe(403);

    const moved = await assign('housing', other.id);
    expect(moved.status).toBe(200);
    expect(moved.body.reviews.housing).toMatchObject({ status: 'pending', partnerId: other.id, overdue: false });
    expect((await assign('housing', other.id)).status).toBe(200); // a retried call: the case already says so
    const withdrawn = (await requestTo(housing, 'order.withdrawn'))!;
    expect(withdrawn.signatureValid).toBe(true);
    expect(withdrawn.body).toMatchObject({ orderId: oldRequest.body.orderId, case: { department: 'housing', reason: 'reassigned' } });
    const newRequest = (await requestTo(other))!;
    expect(newRequest.body.orderId).not.toBe(oldRequest.body.orderId);
    expect(newRequest.body.case).toMatchObject({ department: 'housing', businessType: 'change' });

    const answer = (p: { key: string }, department: string) =>
      sys.call('POST', `/v1/registrations/${id}/reviews/${department}`, { key: p.key, body: { approved: true } });
    expect((await answer(housing, 'housing')).status).toBe(403);
    expect((await answer(other, 'housing')).status).toBe(200);
    expect((await answer(tax, 'tax')).status).toBe(200);
    const otherTax = await departmentPartner('tax', community);
    const answered = await assign('tax', otherTax.id);
    expect(answered.status).toBe(409);
    expect(answered.body.detail).toContain('already answered');
    expect((await answer(partners[2], 'natural_resources')).status).toBe(200);
    await eventually(() => registration(id, supervisor), { accept: (r) => r.status === 'awaiting_delivery', what: 'certificate issued' });
    const late = await assign('housing', housing.id);
    expect(late.status).toBe(409);
    expect(late.body.state).toBe('awaiting_delivery');

    const history = (await sys.call('GET', `/v1/cases/${id}/history`)).body as any[];
    expect(history.find((e) => e.type === 'review_reassigned')).toMatchObject({ data: { department: 'housing', from: housing.id, to: other.id } });
    const doc = (await sys.call('GET', '/openapi.json', { key: '' })).body;
    expect(doc.paths['/v1/registrations/{id}/reviews/{department}/assign'].post.operationId).toBe('assignRegistrationReviewer');
    await Promise.all([...partners, other, retired, otherTax].map((p) => p.sim.stop()));
  });
});
