/**
 * The pure rules, without any server: SLA layering, durations and their limits, text
 * Postgres can store, the steps of a department review, and the input checks of the API
 * (cursor fields, JSON depth) that stand in front of SQL.
 */
import { jsonDepth, MAX_JSON_DEPTH } from '../../src/api/jsonDepth';
import { decodeCursor, encodeCursor, validCursorValue } from '../../src/db/cursor';
import { checkBatchInstants, isPostgresDataError } from '../../src/db/dataErrors';
import { earliestPendingDue, nextReviewStep, nextStepOfReviews, openReview } from '../../src/domain/departmentReview';
import { DURATION_LIMITS, formatIsoDuration, MAX_DURATION_TEXT, parseIsoDuration } from '../../src/domain/duration';
import { DEFAULT_SLA_POLICIES, mergeApplicablePolicies, resolveRegistrationSla, resolveServiceRequestSla } from '../../src/domain/sla';
import { isStorableText, isWellFormedText } from '../../src/domain/text';
import { event, snapshot } from '../support/readModelFixtures';

describe('SLA layering', () => {
  it('uses the shipped defaults, the most specific applicable one winning field by field', () => {
    const normal = resolveServiceRequestSla([], 'housing', 'normal');
    expect(normal).toMatchObject({ ackTimeoutMs: 2 * 3_600_000, fulfilmentTimeoutMs: 3 * 86_400_000, maxDispatchAttempts: 3 });
    const urgentHousing = resolveServiceRequestSla([], 'housing', 'urgent');
    // category+urgency sets reminderAfter; urgency alone sets followUpAfter; the base sets surveyWindow.
    expect(urgentHousing.source).toMatchObject({ reminderAfter: 'PT10M', followUpAfter: 'P1D', surveyWindow: 'P7D' });
    expect(resolveServiceRequestSla([], 'medical', 'urgent').fulfilmentTimeoutMs).toBe(4 * 3_600_000);
  });

  it('lets a stored policy override the default of the same specificity, and a category outrank an urgency', () => {
    const stored = [
      { caseType: 'service_request' as const, urgency: 'urgent' as const, ackTimeout: 'PT20M' },
      { caseType: 'service_request' as const, category: 'food' as const, ackTimeout: 'PT40M' },
      { caseType: 'service_request' as const, ackTimeout: 'PT3H' },
    ];
    expect(mergeApplicablePolicies(stored, { caseType: 'service_request', category: 'food', urgency: 'urgent' }).ackTimeout).toBe('PT40M');
    expect(mergeApplicablePolicies(stored, { caseType: 'service_request', category: 'clothing', urgency: 'urgent' }).ackTimeout).toBe('PT20M');
    expect(mergeApplicablePolicies(stored, { caseType: 'service_request', category: 'clothing', urgency: 'normal' }).ackTimeout).toBe('PT3H');
    // A policy for another case type never applies.
    expect(mergeApplicablePolicies(stored, { caseType: 'registration' })).not.toHaveProperty('ackTimeout');
  });

  it('resolves registrations on their own fields', () => {
    expect(resolveRegistrationSla([{ caseType: 'registration', reviewTimeout: 'PT1H' }])).toMatchObject({ reviewTimeoutMs: 3_600_000, completionTargetMs: 20 * 60_000 });
  });

  it('ships defaults that are inside the limits the API enforces', () => {
    for (const p of DEFAULT_SLA_POLICIES) {
      for (const [k, v] of Object.entries(p)) {
        if (typeof v === 'string' && /^P/.test(v)) expect({ k, ms: parseIsoDuration(v)! <= DURATION_LIMITS.slaField.ms }).toEqual({ k, ms: true });
      }
    }
  });
});

describe('durations', () => {
  it('parses weeks to seconds, fractions included, and formats back', () => {
    expect(parseIsoDuration('PT5S')).toBe(5000);
    expect(parseIsoDuration('P1DT12H')).toBe(36 * 3_600_000);
    expect(parseIsoDuration('P2W')).toBe(14 * 86_400_000);
    expect(parseIsoDuration('PT0.5S')).toBe(500);
    expect(formatIsoDuration(90 * 60_000)).toBe('PT1H30M');
    expect(formatIsoDuration(0)).toBe('PT0S');
  });

  it('refuses calendar units, empty parts, and text longer than the cap', () => {
    for (const bad of ['P1M', 'P1Y', 'P', 'PT', 'P1DT', '1D', 'pt1h', `PT${'1'.repeat(MAX_DURATION_TEXT)}S`]) expect(parseIsoDuration(bad)).toBeNull();
  });

  it('knows P420000W and P99999999999W are far past the limits (the text alone parses)', () => {
    expect(parseIsoDuration('P420000W')!).toBeGreaterThan(DURATION_LIMITS.slaField.ms);
    expect(parseIsoDuration('P99999999999W')!).toBeGreaterThan(DURATION_LIMITS.extension.ms);
    expect(parseIsoDuration('P90D')).toBe(DURATION_LIMITS.extension.ms);
    expect(parseIsoDuration('P365D')).toBe(DURATION_LIMITS.slaField.ms);
  });
});

describe('text Postgres can store', () => {
  it('accepts whole emoji and CJK, refuses lone surrogates and NUL', () => {
    expect(isWellFormedText('李奶奶 😀')).toBe(true);
    expect(isWellFormedText('half \ud83d')).toBe(false);
    expect(isWellFormedText('\ude00 low half first')).toBe(false);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('普通文本')).toBe(true);
  });
});

describe('the steps of a department review', () => {
  const t0 = Date.parse('2026-03-02T01:00:00Z');
  it('reminds at half the timeout, escalates at its end, then only waits', () => {
    const review = openReview('order-1', t0, 2 * 3_600_000);
    expect(nextReviewStep(review)).toEqual({ at: t0 + 3_600_000, step: 'remind' });
    expect(nextReviewStep({ ...review, reminded: true })).toEqual({ at: t0 + 7_200_000, step: 'escalate' });
    expect(nextReviewStep({ ...review, reminded: true, overdue: true })).toBeNull();
    expect(nextReviewStep({ ...review, status: 'approved' })).toBeNull();
  });

  it('takes the soonest step over the pending reviews, and the earliest due of them', () => {
    const tax = openReview('t', t0, 6 * 3_600_000); // reminded at 3 h
    const housing = { ...openReview('h', t0, 2 * 3_600_000), reminded: true };
    const done = { ...openReview('n', t0, 60_000), status: 'approved' as const };
    expect(nextStepOfReviews({ tax, housing, natural_resources: done })).toEqual({ department: 'housing', at: t0 + 7_200_000, step: 'escalate' });
    expect(earliestPendingDue({ tax, housing, natural_resources: done })).toBe(housing.dueAt);
    expect(nextStepOfReviews({ natural_resources: done })).toBeNull();
  });
});

describe('what stands in front of SQL', () => {
  it('checks each cursor field against its column kind', () => {
    expect(validCursorValue('instant', '2026-12-01T08:00:00.123456Z')).toBe(true);
    expect(validCursorValue('instant', '2026-12-01T08:00:00.123Z')).toBe(true);
    for (const bad of ['x', '2026-02-30T00:00:00Z', '99999-01-01T00:00:00Z', '2026-12-01 08:00:00', '0000-01-01T00:00:00Z']) expect(validCursorValue('instant', bad)).toBe(false);
    expect(validCursorValue('bigint', '12345')).toBe(true);
    for (const bad of ['1e5', '-1', '9'.repeat(19), '']) expect(validCursorValue('bigint', bad)).toBe(false);
    expect(validCursorValue('text', 'a\ud83db')).toBe(false);
    const cursor = encodeCursor({ createdAt: '2026-12-01T08:00:00.000Z', id: 'c-1' });
    expect(decodeCursor(cursor, { createdAt: 'instant', id: 'text' })).toEqual({ createdAt: '2026-12-01T08:00:00.000Z', id: 'c-1' });
    expect(decodeCursor(cursor, { id: 'text' })).toBe('invalid'); // extra field: not this list's cursor
    expect(decodeCursor(encodeCursor({ id: 'x' }), { id: 'bigint' })).toBe('invalid');
    expect(decodeCursor('%%%', { id: 'text' })).toBe('invalid');
    expect(decodeCursor(undefined, { id: 'text' })).toBeNull();
  });

  it('measures JSON depth on bytes, skipping brackets inside strings', () => {
    expect(jsonDepth(Buffer.from('{"a":[1,{"b":[]}]}'))).toBe(4);
    expect(jsonDepth(Buffer.from('{"a":"[[[[\\"[[["}'))).toBe(1);
    expect(jsonDepth('['.repeat(150_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
  });

  it('refuses a batch with an instant past 9999 as a data error before any SQL', () => {
    const s = snapshot('c', { deadlines: { fulfilment: '+420000-01-01T00:00:00.000Z' } });
    let err: unknown;
    try { checkBatchInstants({ events: [event(1)], snapshot: s }); } catch (e) { err = e; }
    expect(isPostgresDataError(err)).toBe(true);
    expect(() => checkBatchInstants({ events: [event(1)], snapshot: snapshot('c', { deadlines: { ack: new Date().toISOString(), survey: null as never } }) })).not.toThrow();
    expect(isPostgresDataError({ code: '23505' })).toBe(false);
    expect(isPostgresDataError({ code: '22P02' })).toBe(true);
  });
});
