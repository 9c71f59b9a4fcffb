/**
 * Who may call what: every route of the API x every role (and no key) x inside and outside
 * the caller's scope (a key's communities; a partner's own orders), through the real API.
 *
 * Complete by construction: the routes come from `buildRoutes()`, and a route without an
 * entry in MATRIX fails here. The roles in MATRIX are written independently of the routes'
 * own `roles`, so this is a second statement of the policy, checked against the code.
 *
 * Every probe is made twice: with an API key, and with a person's session cookie (+ its
 * CSRF token) of the same role and scope; both must answer alike.
 *
 * "allowed" means anything but 401/403 (and not a 5xx): probes are chosen so that they
 * change nothing; a write from a permitted role gets 400 (the probe's body is junk), a scope
 * probe inside the scope hits a closed case and gets 409.
 */
import type { Role } from '../../src/domain/vocabulary';
import { buildRoutes } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { eventually } from '../support/eventually';
import { startPartnerSimulator, type PartnerSimulator } from '../support/partnerSimulator';
import { userSession, withSession, type TestSession } from '../support/sessions';
import { startTestSystem, type TestSystem } from '../support/system';
import { TEST_PAYLOAD_ENCRYPTION_KEYS } from '../support/testKeys';

interface Fixtures {
  communityIn: string;
  communityOut: string;
  /** Partners serving resident requests: `orderPartner` in communityIn, `otherOrderPartner` in communityOut. */
  orderPartner: { id: string; key: string };
  otherOrderPartner: { id: string; key: string };
  /** Linked institutions: `linked` is notified of regIn, `otherLinked` of regOut. */
  linked: { id: string; key: string };
  otherLinked: { id: string; key: string };
  /** A closed resident request in communityIn, served by orderPartner (every action on it is a 409). */
  caseIn: string;
  /** An open resident request in communityOut, awaiting otherOrderPartner's answer. */
  caseOut: string;
  /** A withdrawn registration in communityIn, linked to `linked` (every action is a 409). */
  regIn: string;
  /** An open registration in communityOut, linked to `otherLinked`. */
  regOut: string;
  /** A care plan in communityIn served by orderPartner, ended before its first visit (every action on it is a 409). */
  planIn: string;
  /** An active care plan in communityOut served by otherOrderPartner. */
  planOut: string;
}

interface Probe { path: string; body?: unknown }

interface Entry {
  /** Who may call the route: the policy, stated here independently of the route's own declaration. */
  roles: readonly Role[] | 'public';
  /** Which partner key plays "the partner": one with orders (default), or a linked institution. */
  partner?: 'order' | 'linked';
  /** A request every permitted role can make without changing anything. */
  probe: (f: Fixtures) => Probe;
  /**
   * For routes limited by scope: the roles whose keys are limited there (staff and supervisor
   * keys by communities, partner keys to their own orders or cases), and the same request
   * inside and outside that scope. No `inside`: a limited key is never in scope there.
   * Routes without `scope` must not care: a limited key is allowed like any other.
   */
  scope?: { roles: readonly Role[]; inside?: (f: Fixtures) => Probe; outside: (f: Fixtures) => Probe };
  /** The probe ends the caller's session (log out): cookie probes use a fresh session each time. */
  endsSession?: boolean;
}

const newPartner = (community: string) => ({ name: '社区便民店', kind: 'enterprise', categories: ['food'], communities: [community], capacity: 0 });

/** A body no write schema accepts (they are all strict), so permitted roles get a harmless 400. */
const JUNK = { unexpectedField: true };

const resident = (community: string) => ({ name: '周阿姨', phone: '13500002222', community });
const intake = (community: string) => ({ resident: resident(community), category: 'housing', description: '门锁坏了', urgency: 'normal', channel: 'walk_in' });
const registration = (community: string, linkedId: string) => ({
  applicants: [{ name: '钱先生', idNumber: '220102198001011234', phone: '13500003333' }], property: { address: '人民大街 1 号' },
  businessType: 'mortgage', documents: [], delivery: 'window', linkedInstitutions: [linkedId], community,
});

/** A resident-request action: junk body for the role check, a real one on caseIn (closed: 409) and caseOut (not ours: 403). */
function serviceRequestAction(name: string, roles: readonly Role[], body: (f: Fixtures) => unknown): Entry {
  return {
    roles,
    probe: (f) => ({ path: `/v1/service-requests/${f.caseIn}/${name}`, body: JUNK }),
    scope: {
      roles: roles.filter((r) => r !== 'admin'),
      inside: (f) => ({ path: `/v1/service-requests/${f.caseIn}/${name}`, body: body(f) }),
      outside: (f) => ({ path: `/v1/service-requests/${f.caseOut}/${name}`, body: body(f) }),
    },
  };
}

function registrationAction(name: string, roles: readonly Role[], body: unknown, partner?: 'linked'): Entry {
  return {
    roles, partner,
    probe: (f) => ({ path: `/v1/registrations/${f.regIn}/${name}`, body: JUNK }),
    scope: {
      roles: roles.filter((r) => r !== 'admin'),
      inside: (f) => ({ path: `/v1/registrations/${f.regIn}/${name}`, body }),
      outside: (f) => ({ path: `/v1/registrations/${f.regOut}/${name}`, body }),
    },
  };
}

/** A list that a limited key sees only within its communities; naming another community is a 403. */
function communityList(path: string, roles: readonly Role[]): Entry {
  const withCommunity = (c: string) => `${path}${path.includes('?') ? '&' : '?'}community=${encodeURIComponent(c)}`;
  return {
    roles,
    probe: () => ({ path }),
    scope: { roles: roles.filter((r) => r === 'staff' || r === 'supervisor'), inside: (f) => ({ path: withCommunity(f.communityIn) }), outside: (f) => ({ path: withCommunity(f.communityOut) }) },
  };
}

const STAFF = ['staff', 'supervisor'] as const;

const carePlan = (community: string, partnerId: string) => ({
  resident: resident(community), partnerId, services: ['health_monitoring'],
  schedule: { firstVisitAt: new Date(Date.now() + 86_400_000).toISOString(), every: 'P7D', visitLength: 'PT1H', lateAfter: 'PT30M', missedAfter: 'PT4H' },
});

/** A care-plan action: junk body for the role check, a real one on planIn (ended: 409) and planOut (not ours: 403). */
function carePlanAction(path: (plan: string) => string, roles: readonly Role[], body: unknown): Entry {
  return {
    roles,
    probe: (f) => ({ path: path(f.planIn), body: JUNK }),
    scope: {
      roles: roles.filter((r) => r !== 'admin'),
      inside: (f) => ({ path: path(f.planIn), body }),
      outside: (f) => ({ path: path(f.planOut), body }),
    },
  };
}
const planRead = (path: (plan: string) => string): Entry => ({
  roles: ['admin', 'supervisor', 'staff', 'partner'],
  probe: (f) => ({ path: path(f.planIn) }),
  scope: { roles: ['supervisor', 'staff', 'partner'], inside: (f) => ({ path: path(f.planIn) }), outside: (f) => ({ path: path(f.planOut) }) },
});

/**
 * The policy. Adding a route? Add its line here: `'METHOD /path/:param': { roles, probe, scope? }`
 * (the failure of "has an entry for every route" names the routes that lack one).
 */
const MATRIX: Record<string, Entry> = {
  'GET /healthz': { roles: 'public', probe: () => ({ path: '/healthz' }) },
  'GET /readyz': { roles: 'public', probe: () => ({ path: '/readyz' }) },
  'GET /codec/login': { roles: 'public', probe: () => ({ path: '/codec/login' }) },

  'POST /v1/api-keys': { roles: ['admin'], probe: () => ({ path: '/v1/api-keys', body: JUNK }) },
  'GET /v1/api-keys': { roles: ['admin'], probe: () => ({ path: '/v1/api-keys' }) },
  'DELETE /v1/api-keys/:id': { roles: ['admin'], probe: () => ({ path: '/v1/api-keys/no-such-key' }) },
  // Limited supervisors see requests on their communities' cases only (tests/api/security.test.ts).
  'GET /v1/audit': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/audit' }) },

  // A limited supervisor registers partners of its own communities only (capacity 0: never dispatched to).
  'POST /v1/partners': {
    roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/partners', body: JUNK }),
    scope: { roles: ['supervisor'], inside: (f) => ({ path: '/v1/partners', body: newPartner(f.communityIn) }), outside: (f) => ({ path: '/v1/partners', body: newPartner(f.communityOut) }) },
  },
  'GET /v1/partners': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/partners' }) },
  'GET /v1/partners/:id': {
    roles: ['admin', 'supervisor', 'staff', 'partner'],
    probe: (f) => ({ path: `/v1/partners/${f.orderPartner.id}` }),
    scope: { roles: ['partner'], inside: (f) => ({ path: `/v1/partners/${f.orderPartner.id}` }), outside: (f) => ({ path: `/v1/partners/${f.otherOrderPartner.id}` }) },
  },
  // Always the caller's own orders: there is no other partner's list to ask for.
  'GET /v1/partners/me/orders': { roles: ['partner'], probe: () => ({ path: '/v1/partners/me/orders' }) },
  // ... and may change its own communities' partners, but never re-point a webhook or its secret.
  'PATCH /v1/partners/:id': {
    roles: ['admin', 'supervisor'], probe: (f) => ({ path: `/v1/partners/${f.orderPartner.id}`, body: JUNK }),
    scope: {
      roles: ['supervisor'],
      inside: (f) => ({ path: `/v1/partners/${f.orderPartner.id}`, body: { capacity: 50 } }),
      outside: (f) => ({ path: `/v1/partners/${f.orderPartner.id}`, body: { webhookSecret: 'attacker-chosen-secret-0123' } }),
    },
  },

  'GET /v1/sla-policies': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/sla-policies' }) },
  // Policies apply to every community's cases: a limited supervisor may not change them.
  'PUT /v1/sla-policies': {
    roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/sla-policies', body: JUNK }),
    scope: { roles: ['supervisor'], outside: () => ({ path: '/v1/sla-policies', body: { caseType: 'registration', supplementWindow: 'P99D' } }) },
  },

  // Calendars and escalation contacts are shared by all communities, like partners.
  'GET /v1/calendars': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/calendars' }) },
  'GET /v1/calendars/:id': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/calendars/cn-office' }) },
  // Like SLA policies, a calendar serves every community: not for keys limited to some.
  'PUT /v1/calendars/:id': {
    roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/calendars/role-matrix', body: JUNK }),
    scope: { roles: ['supervisor'], outside: () => ({ path: '/v1/calendars/role-matrix', body: { name: 'x', timezone: 'Asia/Shanghai', weekdays: [1], workingHours: [{ from: '09:00', to: '10:00' }], holidays: 'none' } }) },
  },
  'GET /v1/calendars/:id/due': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/calendars/cn-office/due?from=2026-09-30T08:00:00Z&duration=PT19H' }) },
  // A limited key manages only contacts within its communities.
  'POST /v1/escalation-contacts': {
    roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/escalation-contacts', body: JUNK }),
    scope: {
      roles: ['supervisor'],
      inside: (f) => ({ path: '/v1/escalation-contacts', body: { name: '网格长', level: 1, communities: [f.communityIn], webhookUrl: 'http://127.0.0.1:9/x', webhookSecret: 'role-matrix-secret-0123456789' } }),
      outside: (f) => ({ path: '/v1/escalation-contacts', body: { name: '网格长', level: 1, communities: [f.communityOut], webhookUrl: 'http://127.0.0.1:9/x', webhookSecret: 'role-matrix-secret-0123456789' } }),
    },
  },
  'GET /v1/escalation-contacts': communityList('/v1/escalation-contacts', ['admin', 'supervisor']),
  'GET /v1/escalation-contacts/:id': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/escalation-contacts/no-such-contact' }) },
  'PATCH /v1/escalation-contacts/:id': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/escalation-contacts/no-such-contact', body: JUNK }) },
  'DELETE /v1/escalation-contacts/:id': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/escalation-contacts/no-such-contact' }) },
  'GET /v1/escalations': communityList('/v1/escalations', ['admin', 'supervisor', 'staff']),

  'POST /v1/service-requests': {
    roles: STAFF,
    probe: () => ({ path: '/v1/service-requests', body: JUNK }),
    // Inside opens a real case in communityIn; harmless to the other fixtures.
    scope: { roles: STAFF, inside: (f) => ({ path: '/v1/service-requests', body: intake(f.communityIn) }), outside: (f) => ({ path: '/v1/service-requests', body: intake(f.communityOut) }) },
  },
  'GET /v1/service-requests/:id': {
    roles: ['admin', 'supervisor', 'staff', 'partner'],
    probe: (f) => ({ path: `/v1/service-requests/${f.caseIn}` }),
    scope: { roles: ['supervisor', 'staff', 'partner'], inside: (f) => ({ path: `/v1/service-requests/${f.caseIn}` }), outside: (f) => ({ path: `/v1/service-requests/${f.caseOut}` }) },
  },
  'POST /v1/service-requests/:id/accept': serviceRequestAction('accept', ['partner'], () => ({})),
  'POST /v1/service-requests/:id/decline': serviceRequestAction('decline', ['partner'], () => ({ reason: '人手不够' })),
  'POST /v1/service-requests/:id/progress': serviceRequestAction('progress', ['partner'], () => ({ note: '已出发' })),
  'POST /v1/service-requests/:id/complete': serviceRequestAction('complete', ['partner'], () => ({ note: '修好了' })),
  'POST /v1/service-requests/:id/extension': serviceRequestAction('extension', ['partner'], () => ({ extraTime: 'PT2H', reason: '等配件' })),
  'POST /v1/service-requests/:id/assign': serviceRequestAction('assign', ['supervisor'], (f) => ({ partnerId: f.orderPartner.id })),
  'POST /v1/service-requests/:id/extension-decision': serviceRequestAction('extension-decision', ['supervisor'], () => ({ approve: true })),
  'POST /v1/service-requests/:id/follow-up': serviceRequestAction('follow-up', STAFF, () => ({ resolved: true, note: '已回访' })),
  'POST /v1/service-requests/:id/survey': serviceRequestAction('survey', STAFF, () => ({ score: 5 })),
  'POST /v1/service-requests/:id/cancel': serviceRequestAction('cancel', STAFF, () => ({ reason: '居民撤回' })),
  'POST /v1/service-requests/:id/hold': serviceRequestAction('hold', ['partner', 'staff', 'supervisor'], () => ({ reason: 'resident_unavailable' })),
  'POST /v1/service-requests/:id/resume': serviceRequestAction('resume', ['partner', 'staff', 'supervisor'], () => ({})),
  'POST /v1/service-requests/:id/escalation/acknowledge': serviceRequestAction('escalation/acknowledge', STAFF, () => ({ note: '我来处理' })),

  'POST /v1/registrations': {
    roles: STAFF,
    probe: () => ({ path: '/v1/registrations', body: JUNK }),
    scope: { roles: STAFF, inside: (f) => ({ path: '/v1/registrations', body: registration(f.communityIn, f.linked.id) }), outside: (f) => ({ path: '/v1/registrations', body: registration(f.communityOut, f.linked.id) }) },
  },
  'GET /v1/registrations/:id': {
    roles: ['admin', 'supervisor', 'staff', 'partner'], partner: 'linked',
    probe: (f) => ({ path: `/v1/registrations/${f.regIn}` }),
    scope: { roles: ['supervisor', 'staff', 'partner'], inside: (f) => ({ path: `/v1/registrations/${f.regIn}` }), outside: (f) => ({ path: `/v1/registrations/${f.regOut}` }) },
  },
  'POST /v1/registrations/:id/documents': registrationAction('documents', STAFF, { documents: ['applicant_id'] }),
  'POST /v1/registrations/:id/reviews/:department': registrationAction('reviews/tax', ['partner'], { approved: true }, 'linked'),
  // Inside scope the partner is checked (400: not a tax department partner) before the withdrawn case would give 409.
  'POST /v1/registrations/:id/reviews/:department/assign': registrationAction('reviews/tax/assign', ['supervisor'], { partnerId: 'no-such-partner' }),
  'POST /v1/registrations/:id/delivered': registrationAction('delivered', STAFF, {}),
  'POST /v1/registrations/:id/survey': registrationAction('survey', STAFF, { score: 4 }),
  'POST /v1/registrations/:id/cancel': registrationAction('cancel', STAFF, { reason: '申请人撤回' }),
  'POST /v1/registrations/:id/escalation/acknowledge': registrationAction('escalation/acknowledge', STAFF, { note: '我来处理' }),

  'POST /v1/care-plans': {
    roles: STAFF,
    probe: () => ({ path: '/v1/care-plans', body: JUNK }),
    scope: { roles: STAFF, inside: (f) => ({ path: '/v1/care-plans', body: carePlan(f.communityIn, f.orderPartner.id) }), outside: (f) => ({ path: '/v1/care-plans', body: carePlan(f.communityOut, f.orderPartner.id) }) },
  },
  'GET /v1/care-plans/:id': planRead((p) => `/v1/care-plans/${p}`),
  'GET /v1/care-plans/:id/visits': planRead((p) => `/v1/care-plans/${p}/visits`),
  'PATCH /v1/care-plans/:id': carePlanAction((p) => `/v1/care-plans/${p}`, STAFF, { services: ['daily_care'] }),
  'POST /v1/care-plans/:id/pause': carePlanAction((p) => `/v1/care-plans/${p}/pause`, STAFF, { reason: '住院' }),
  'POST /v1/care-plans/:id/resume': carePlanAction((p) => `/v1/care-plans/${p}/resume`, STAFF, {}),
  'POST /v1/care-plans/:id/end': carePlanAction((p) => `/v1/care-plans/${p}/end`, STAFF, { reason: '搬家' }),
  'POST /v1/care-plans/:id/escalation/acknowledge': carePlanAction((p) => `/v1/care-plans/${p}/escalation/acknowledge`, STAFF, { note: '已联系' }),
  'POST /v1/care-plans/:id/visits/:visitId/cancel': carePlanAction((p) => `/v1/care-plans/${p}/visits/visit-1/cancel`, STAFF, { reason: '住院' }),
  'POST /v1/care-plans/:id/visits/:visitId/check-in': carePlanAction((p) => `/v1/care-plans/${p}/visits/visit-1/check-in`, ['partner'], { carer: '李护工' }),
  'POST /v1/care-plans/:id/visits/:visitId/check-out': carePlanAction((p) => `/v1/care-plans/${p}/visits/visit-1/check-out`, ['partner'], { services: ['health_monitoring'] }),
  // Always the caller's own visits: there is no other partner's roster to ask for.
  'GET /v1/partners/me/visits': { roles: ['partner'], probe: () => ({ path: '/v1/partners/me/visits' }) },
  'GET /v1/reports/care-hours': communityList('/v1/reports/care-hours', ['admin', 'supervisor']),

  'GET /v1/cases': communityList('/v1/cases', ['admin', 'supervisor', 'staff']),
  'GET /v1/cases/:id/history': {
    roles: ['admin', 'supervisor', 'staff'],
    probe: (f) => ({ path: `/v1/cases/${f.caseIn}/history` }),
    scope: { roles: STAFF, inside: (f) => ({ path: `/v1/cases/${f.caseIn}/history` }), outside: (f) => ({ path: `/v1/cases/${f.caseOut}/history` }) },
  },
  'GET /v1/timeouts': communityList('/v1/timeouts?within=P30D', ['admin', 'supervisor', 'staff']),
  'GET /v1/reports/summary': communityList('/v1/reports/summary', ['admin', 'supervisor']),

  // Imports: a junk body (not a file) is a 415 for permitted roles; templates and an unknown import change nothing.
  'POST /v1/imports/service-requests': { roles: STAFF, probe: () => ({ path: '/v1/imports/service-requests', body: JUNK }) },
  'POST /v1/imports/partners': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/v1/imports/partners', body: JUNK }) },
  'GET /v1/imports/:id': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/imports/no-such-import' }) },
  'GET /v1/imports/:kind/template': { roles: ['admin', 'supervisor', 'staff'], probe: () => ({ path: '/v1/imports/service-requests/template?format=csv' }) },

  // Residents follow their cases without a key (an unknown code is a 404, "allowed").
  'GET /v1/track/:code': { roles: 'public', probe: () => ({ path: '/v1/track/0123456789AB' }) },
  'GET /track': { roles: 'public', probe: () => ({ path: '/track' }) },
  'GET /track/:code': { roles: 'public', probe: () => ({ path: '/track/0123456789AB' }) },
  'GET /track/assets/track.css': { roles: 'public', probe: () => ({ path: '/track/assets/track.css' }) },

  // Open311 is public by the spec; a POST authenticates by its own api_key field (tests/api/open311.test.ts).
  'GET /open311/v2/services.:format': { roles: 'public', probe: () => ({ path: '/open311/v2/services.json' }) },
  'GET /open311/v2/services/:code.:format': { roles: 'public', probe: () => ({ path: '/open311/v2/services/housing.json' }) },
  'POST /open311/v2/requests.:format': { roles: 'public', probe: () => ({ path: '/open311/v2/requests.json', body: JUNK }) },
  'GET /open311/v2/requests.:format': { roles: 'public', probe: () => ({ path: '/open311/v2/requests.json' }) },
  'GET /open311/v2/requests/:id.:format': { roles: 'public', probe: (f) => ({ path: `/open311/v2/requests/${f.caseIn}.json` }) },
  'GET /open311/v2/servicerequestupdates.:format': { roles: 'public', probe: () => ({ path: '/open311/v2/servicerequestupdates.json' }) },

  // The codec decrypts every community's payloads: keys limited to communities never may.
  'POST /codec/decode': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/codec/decode', body: JUNK }), scope: { roles: ['supervisor'], outside: () => ({ path: '/codec/decode', body: { payloads: [] } }) } },
  // Encoding makes payloads Temporal takes as ours: admins only.
  'POST /codec/encode': { roles: ['admin'], probe: () => ({ path: '/codec/encode', body: JUNK }) },
  'POST /codec/logout': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/codec/logout', body: JUNK }) },
  'POST /codec/session': { roles: ['admin', 'supervisor'], probe: () => ({ path: '/codec/session', body: JUNK }), scope: { roles: ['supervisor'], outside: () => ({ path: '/codec/session' }) } },

  'POST /v1/users': { roles: ['admin'], probe: () => ({ path: '/v1/users', body: JUNK }) },
  'GET /v1/users': { roles: ['admin'], probe: () => ({ path: '/v1/users' }) },
  'GET /v1/users/:id': { roles: ['admin'], probe: () => ({ path: '/v1/users/no-such-user' }) },
  'PATCH /v1/users/:id': { roles: ['admin'], probe: () => ({ path: '/v1/users/no-such-user', body: JUNK }) },
  'DELETE /v1/users/:id': { roles: ['admin'], probe: () => ({ path: '/v1/users/no-such-user' }) },
  // Logging in needs no credential (a junk body: 400); who-am-I and log out take any.
  'POST /v1/session': { roles: 'public', probe: () => ({ path: '/v1/session', body: JUNK }) },
  'GET /v1/session': { roles: ['admin', 'supervisor', 'staff', 'partner'], probe: () => ({ path: '/v1/session' }) },
  'DELETE /v1/session': { roles: ['admin', 'supervisor', 'staff', 'partner'], probe: () => ({ path: '/v1/session' }), endsSession: true },
  'PUT /v1/session/password': { roles: ['admin', 'supervisor', 'staff', 'partner'], probe: () => ({ path: '/v1/session/password', body: JUNK }) },
  'GET /v1/extension-requests': communityList('/v1/extension-requests', ['admin', 'supervisor', 'staff']),
  // The token is the credential (tests/api/orderLinks.test.ts): no key or session is asked for; an unknown token is a 404.
  'GET /v1/order-links/:token': { roles: 'public', probe: () => ({ path: `/v1/order-links/${'A'.repeat(43)}` }) },
  'POST /v1/order-links/:token/:action': { roles: 'public', probe: () => ({ path: `/v1/order-links/${'A'.repeat(43)}/accept`, body: JUNK }) },
};

// The routes, enumerated before any test runs (building them touches neither Postgres nor Temporal).
const ROUTES = buildRoutes({
  config: loadConfig({ APP_ENV: 'test', PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS }),
  pool: {} as never, temporal: {} as never, log: createLogger('silent', 'role-matrix'),
}).routes.map((r) => ({ key: `${r.method.toUpperCase()} ${r.path}`, method: r.method.toUpperCase() }));

const ROLES: readonly Role[] = ['admin', 'supervisor', 'staff', 'partner'];

type Outcome = 'allowed' | 401 | 403 | `error ${number}`;
const outcome = (status: number): Outcome => (status === 401 || status === 403 ? status : status >= 500 ? `error ${status}` : 'allowed');

let sys: TestSystem;
let sims: PartnerSimulator[] = [];
let f: Fixtures;
let keys: { admin: string; supervisor: string; staff: string; limited: { supervisor: string; staff: string } };
/** People logged in with the same role and scope as each key. */
interface SessionSet { admin: TestSession; supervisor: TestSession; staff: TestSession; orderPartner: TestSession; linked: TestSession; limited: { supervisor: TestSession; staff: TestSession } }
let sessions: SessionSet;
let sessionExtras: Record<string, Record<string, unknown>>;

beforeAll(async () => {
  sys = await startTestSystem();
  const communityIn = sys.community;
  const communityOut = `${sys.community}-other`;
  const staff = await sys.createKey('staff');
  keys = {
    admin: sys.adminKey, supervisor: await sys.createKey('supervisor'), staff,
    limited: { supervisor: await sys.createKey('supervisor', { communities: [communityIn] }), staff: await sys.createKey('staff', { communities: [communityIn] }) },
  };
  sims = [await startPartnerSimulator(), await startPartnerSimulator()];
  const orderPartner = await sys.createPartner({ name: '南湖物业', communities: [communityIn], capacity: 50, webhookUrl: sims[0].url, webhookSecret: sims[0].secret });
  const otherOrderPartner = await sys.createPartner({ name: '北湖物业', communities: [communityOut], capacity: 50, webhookUrl: sims[1].url, webhookSecret: sims[1].secret });
  const linkedInstitution = { kind: 'linked_institution', institution: 'bank', categories: [], communities: [], webhookUrl: sims[0].url, webhookSecret: sims[0].secret };
  const linked = await sys.createPartner({ name: '建设银行南湖支行', ...linkedInstitution });
  const otherLinked = await sys.createPartner({ name: '工商银行北湖支行', ...linkedInstitution });

  const openRequest = async (community: string, partnerId: string) => {
    const created = await sys.call('POST', '/v1/service-requests', { key: staff, body: intake(community) });
    await eventually(async () => (await sys.call('GET', `/v1/service-requests/${created.body.id}`)).body, {
      accept: (c: { status: string; assignedPartnerId: string }) => c.status === 'awaiting_ack' && c.assignedPartnerId === partnerId, what: `dispatch in ${community}`,
    });
    return created.body.id as string;
  };
  const [caseIn, caseOut] = await Promise.all([openRequest(communityIn, orderPartner.id), openRequest(communityOut, otherOrderPartner.id)]);
  const step = async (key: string, action: string, body: unknown) => {
    const res = await sys.call('POST', `/v1/service-requests/${caseIn}/${action}`, { key, body });
    if (res.status !== 200) throw new Error(`fixture step ${action}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  await step(orderPartner.key, 'accept', {});
  await step(orderPartner.key, 'complete', { note: '修好了' });
  await step(staff, 'follow-up', { resolved: true, note: '已回访' });
  await step(staff, 'survey', { score: 5 });

  const openRegistration = async (community: string, linkedId: string) => {
    const res = await sys.call('POST', '/v1/registrations', { key: staff, body: registration(community, linkedId) });
    if (res.status !== 201) throw new Error(`fixture registration: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const [regIn, regOut] = await Promise.all([openRegistration(communityIn, linked.id), openRegistration(communityOut, otherLinked.id)]);
  const withdrawn = await sys.call('POST', `/v1/registrations/${regIn}/cancel`, { key: staff, body: { reason: '申请人撤回' } });
  if (withdrawn.status !== 200) throw new Error(`fixture withdrawal: ${withdrawn.status} ${JSON.stringify(withdrawn.body)}`);

  const openPlan = async (community: string, partnerId: string) => {
    const res = await sys.call('POST', '/v1/care-plans', { key: staff, body: carePlan(community, partnerId) });
    if (res.status !== 201) throw new Error(`fixture care plan: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  const [planIn, planOut] = await Promise.all([openPlan(communityIn, orderPartner.id), openPlan(communityOut, otherOrderPartner.id)]);
  // planIn's first visit scheduled (its row written), then the plan ended: every action on it is a 409.
  await eventually(async () => (await sys.call('GET', `/v1/care-plans/${planIn}/visits`, { key: staff })).body.items?.length, { what: 'planIn visit-1' });
  const endedPlan = await sys.call('POST', `/v1/care-plans/${planIn}/end`, { key: staff, body: { reason: '家属自行照护' } });
  if (endedPlan.status !== 200) throw new Error(`fixture plan end: ${endedPlan.status} ${JSON.stringify(endedPlan.body)}`);
  await eventually(async () => (await sys.call('GET', `/v1/care-plans/${planIn}/visits`, { key: staff })).body.items?.[0]?.status === 'cancelled', { what: 'planIn visit-1 cancelled' });

  f = { communityIn, communityOut, orderPartner, otherOrderPartner, linked, otherLinked, caseIn, caseOut, regIn, regOut, planIn, planOut };
  sessionExtras = {
    admin: {}, supervisor: {}, staff: {}, orderPartner: { partnerId: orderPartner.id }, linked: { partnerId: linked.id },
    'limited.supervisor': { communities: [communityIn] }, 'limited.staff': { communities: [communityIn] },
  };
  const [admin, supervisor, staffS, orderPartnerS, linkedS, limSup, limStaff] = await Promise.all([
    userSession(sys, 'admin'), userSession(sys, 'supervisor'), userSession(sys, 'staff'),
    userSession(sys, 'partner', sessionExtras.orderPartner), userSession(sys, 'partner', sessionExtras.linked),
    userSession(sys, 'supervisor', sessionExtras['limited.supervisor']), userSession(sys, 'staff', sessionExtras['limited.staff']),
  ]);
  sessions = { admin, supervisor, staff: staffS, orderPartner: orderPartnerS, linked: linkedS, limited: { supervisor: limSup, staff: limStaff } };
}, 120_000);

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await sys?.stop();
});

function missingEntryMessage(routeKeys: string[]): string {
  return `routes without an entry in MATRIX (tests/api/roleMatrix.test.ts): ${routeKeys.join(', ')}. ` +
    `Add one line per route stating who may call it, e.g. '${routeKeys[0]}': { roles: ['admin', 'supervisor'], probe: (f) => ({ path: '...' }) }, ` +
    'plus `scope` when community or partner limits apply.';
}

it('has an entry for every route, and none for a route that is gone', () => {
  const declared = ROUTES.map((r) => r.key);
  const missing = declared.filter((k) => !(k in MATRIX));
  if (missing.length) throw new Error(missingEntryMessage(missing));
  expect(Object.keys(MATRIX).filter((k) => !declared.includes(k))).toEqual([]);
});

/** A credential: an API key, or a person's session (cookie + CSRF token); `fresh` logs a new one in for a probe that logs out. */
type Credential = string | { session: TestSession; fresh?: { role: Role; extra: Record<string, unknown> } };

describe.each(ROUTES)('$key', ({ key: routeKey, method }) => {
  const call = async (probe: Probe, cred: Credential) => {
    if (typeof cred === 'string') return outcome((await sys.call(method, probe.path, { key: cred, body: probe.body })).status);
    const session = cred.fresh ? await userSession(sys, cred.fresh.role, cred.fresh.extra) : cred.session;
    return outcome((await sys.call(method, probe.path, { key: '', body: probe.body, headers: withSession(session) })).status);
  };

  it.each(['API key', 'session cookie'] as const)('answers each role, with and without scope, as the policy says (%s)', async (via) => {
    const entry = MATRIX[routeKey];
    if (!entry) throw new Error(missingEntryMessage([routeKey]));
    const bySession = (name: string, session: TestSession, role: Role): Credential =>
      ({ session, ...(entry.endsSession ? { fresh: { role, extra: sessionExtras[name] } } : {}) });
    const partnerName = entry.partner === 'linked' ? 'linked' : 'orderPartner';
    const partnerKey: Credential = via === 'API key' ? (entry.partner === 'linked' ? f.linked.key : f.orderPartner.key) : bySession(partnerName, sessions[partnerName], 'partner');
    const roleKey = (role: Role): Credential => (role === 'partner' ? partnerKey : via === 'API key' ? keys[role] : bySession(role, sessions[role], role));
    const limitedKey = (role: Role): Credential => {
      if (role === 'partner') return partnerKey;
      const r = role as 'staff' | 'supervisor';
      return via === 'API key' ? keys.limited[r] : bySession(`limited.${r}`, sessions.limited[r], r);
    };
    const permitted = (role: Role) => entry.roles === 'public' || entry.roles.includes(role);

    const expected: Record<string, Outcome> = {};
    const actual: Record<string, Outcome> = {};
    const probe = entry.probe(f);
    expected['no key'] = entry.roles === 'public' ? 'allowed' : 401;
    actual['no key'] = await call(probe, '');
    if (via === 'session cookie') {
      expected['forged cookie'] = entry.roles === 'public' ? 'allowed' : 401;
      actual['forged cookie'] = outcome((await sys.call(method, probe.path, { key: '', body: probe.body, headers: { cookie: 'gj_session=forged', 'x-csrf-token': 'forged' } })).status);
    }
    for (const role of ROLES) {
      expected[role] = permitted(role) ? 'allowed' : 403;
      actual[role] = await call(probe, roleKey(role));
    }

    if (entry.scope) {
      for (const role of entry.scope.roles) {
        if (entry.scope.inside) {
          expected[`${role}, inside scope`] = 'allowed';
          actual[`${role}, inside scope`] = await call(entry.scope.inside(f), limitedKey(role));
        }
        expected[`${role}, outside scope`] = 403;
        actual[`${role}, outside scope`] = await call(entry.scope.outside(f), limitedKey(role));
      }
      // Admins are never limited; only reads are tried, since outside a write would really happen.
      if (method === 'GET' && permitted('admin') && entry.roles !== 'public') {
        expected['admin, outside any scope'] = 'allowed';
        actual['admin, outside any scope'] = await call(entry.scope.outside(f), roleKey('admin'));
      }
    } else {
      // Not a scoped route: a key limited to communities is just as allowed as any other.
      for (const role of ['staff', 'supervisor'] as const) {
        if (!permitted(role) || entry.roles === 'public') continue;
        expected[`${role} limited to communities`] = 'allowed';
        actual[`${role} limited to communities`] = await call(probe, limitedKey(role));
      }
    }
    expect(actual).toEqual(expected);
  });
});

describe('lists under a community limit', () => {
  it('GET /v1/cases shows a limited key only its communities\' cases', async () => {
    const ids = async (key: string) => ((await sys.call('GET', '/v1/cases?limit=500', { key })).body.items as { id: string; community: string }[]);
    const limited = await ids(keys.limited.staff);
    expect(limited.map((c) => c.id)).toContain(f.caseIn);
    expect(limited.map((c) => c.id)).not.toContain(f.caseOut);
    expect(new Set(limited.map((c) => c.community))).toEqual(new Set([f.communityIn]));
    expect((await ids(keys.staff)).map((c) => c.id)).toEqual(expect.arrayContaining([f.caseIn, f.caseOut]));
  });

  it('GET /v1/partners/me/orders never shows another partner\'s order', async () => {
    const res = await sys.call('GET', '/v1/partners/me/orders?limit=500', { key: f.orderPartner.key });
    expect(res.status).toBe(200);
    expect((res.body.items as { caseId: string }[]).map((o) => o.caseId)).not.toContain(f.caseOut);
  });

  it('GET /v1/timeouts shows a limited key only its communities\' deadlines', async () => {
    const caseIds = async (key: string) => ((await sys.call('GET', '/v1/timeouts?within=P30D&limit=500', { key })).body.items as { caseId: string }[]).map((d) => d.caseId);
    expect(await caseIds(keys.staff)).toContain(f.caseOut);
    expect(await caseIds(keys.limited.staff)).not.toContain(f.caseOut);
  });
});
