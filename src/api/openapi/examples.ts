/**
 * Examples of the main bodies in the OpenAPI document, by operationId. Each is checked
 * against the route's own schema by tests/api/openapiDocument.test.ts and against the
 * document's JSON Schema by the lint, so an example cannot drift from what the API takes.
 */
import type { Summary } from '../../db/reports';

export const REQUEST_EXAMPLES: Record<string, unknown> = {
  createApiKey: { role: 'staff', name: '南湖社区网格员', communities: ['南湖社区'], expiresAt: '2027-01-01T00:00:00+08:00' },
  createPartner: {
    name: '南湖物业', kind: 'property_company', categories: ['housing'], communities: ['南湖社区'], grids: ['G1', 'G2'],
    capacity: 20, webhookUrl: 'https://partner.example.org/gongjian/webhook', webhookSecret: 'a-long-random-secret-0123456789', hours: '24h',
  },
  updatePartner: { active: false },
  createServiceRequest: {
    resident: { name: '张大爷', phone: '13712345678', community: '南湖社区', grid: 'G2', address: '3栋2单元101', flags: ['elderly_alone'] },
    category: 'housing', description: '家里停电，独居老人', urgency: 'urgent', channel: 'home_visit',
  },
  serviceRequestComplete: { note: '更换空气开关，已恢复供电', hoursSpent: 1.5 },
  serviceRequestFollowUp: { resolved: true, note: '回访：老人满意' },
  serviceRequestSurvey: { score: 5, comment: '当天就修好了' },
  createRegistration: {
    applicants: [{ name: '王芳', idNumber: '220402199001011234', phone: '13800000000' }],
    property: { address: '龙山区向阳街1号', unitNo: '2-301', certificateNo: '吉(2025)辽源市不动产权第0000007号' },
    businessType: 'transfer', documents: ['applicant_id', 'property_certificate', 'sale_contract', 'tax_receipt'],
    delivery: 'window', community: '南湖社区',
  },
  putSlaPolicy: { caseType: 'service_request', category: 'housing', urgency: 'urgent', ackTimeout: 'PT30M', fulfilmentTimeout: 'PT24H' },
};

export const RESPONSE_EXAMPLES: Record<string, Record<string, unknown>> = {
  createApiKey: { 201: { id: 'k_3f9a2c', key: 'gj_4Jq0yTq8m2b1X9c6V5n3L7k0P2s4D6f8G1h3J5k7' } },
};

const stats = (cases: number, median: number | null, p90: number | null) => ({ cases, median, p90 });
const measures = {
  total: 12, byStatus: { closed: 10, in_progress: 2 },
  timeToAcknowledge: stats(12, 420, 1500), timeToComplete: stats(11, 14_400, 50_400), timeToClose: stats(10, 90_000, 259_200),
  insideSlaShare: 0.91, reopenRate: 0.08, satisfaction: { mean: 4.6, answered: 9, due: 10, responseRate: 0.9 }, serviceHours: 17.5,
  registration: { certified: 0, sameDayShare: null, medianTimeToCertificate: null },
};

/** The report the CSV example is rendered from (by the real CSV writer). */
export const EXAMPLE_REPORT: Summary = {
  groupBy: 'community', from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z',
  groups: [{ key: '南湖社区', label: '南湖社区', ...measures }],
  overall: measures,
};
