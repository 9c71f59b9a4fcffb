/** The summary report as CSV (`Accept: text/csv`): one row per group, then an `(all)` row. */
import type { Summary, SummaryMeasures } from '../db/reports';
import { translate, type Locale } from '../i18n';

/**
 * RFC 4180 quoting, and a leading apostrophe on text that a spreadsheet would run as a
 * formula (community and partner names are user input).
 */
function cell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const MEASURE_COLUMNS: [string, (m: SummaryMeasures) => number | null][] = [
  ['total', (m) => m.total],
  ['ack_cases', (m) => m.timeToAcknowledge.cases],
  ['ack_median_s', (m) => m.timeToAcknowledge.median],
  ['ack_p90_s', (m) => m.timeToAcknowledge.p90],
  ['complete_cases', (m) => m.timeToComplete.cases],
  ['complete_median_s', (m) => m.timeToComplete.median],
  ['complete_p90_s', (m) => m.timeToComplete.p90],
  ['close_cases', (m) => m.timeToClose.cases],
  ['close_median_s', (m) => m.timeToClose.median],
  ['close_p90_s', (m) => m.timeToClose.p90],
  ['inside_sla_share', (m) => m.insideSlaShare],
  ['reopen_rate', (m) => m.reopenRate],
  ['mean_satisfaction', (m) => m.satisfaction.mean],
  ['surveys_answered', (m) => m.satisfaction.answered],
  ['surveys_due', (m) => m.satisfaction.due],
  ['survey_response_rate', (m) => m.satisfaction.responseRate],
  ['service_hours', (m) => m.serviceHours],
  ['certified', (m) => m.registration.certified],
  ['same_day_share', (m) => m.registration.sameDayShare],
  ['median_time_to_certificate_s', (m) => m.registration.medianTimeToCertificate],
];

/** Headers in the reader's language (Accept-Language; the English names are the machine-readable default). */
export function summaryToCsv(s: Summary, locale: Locale = 'en'): string {
  const statuses = Object.keys(s.overall.byStatus).sort();
  const col = (name: string) => translate(locale, `csv.${name}`);
  const header = [col(s.groupBy), col('label'), ...MEASURE_COLUMNS.map(([name]) => col(name)),
    ...statuses.map((st) => translate(locale, 'csv.status', { status: locale === 'en' ? st : translate(locale, `status.${st}`) }))];
  const row = (key: string | null, label: string | null, m: SummaryMeasures) =>
    [key, label, ...MEASURE_COLUMNS.map(([, get]) => get(m)), ...statuses.map((st) => m.byStatus[st] ?? 0)].map(cell).join(',');
  const lines = [header.map(cell).join(','), ...s.groups.map((g) => row(g.key, g.label, g)), row('(all)', null, s.overall)];
  return `${lines.join('\r\n')}\r\n`;
}
