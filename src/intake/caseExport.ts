/**
 * GET /v1/cases as a file: CSV (UTF-8 with a BOM, so Excel shows Chinese) or .xlsx, every
 * case the filters match (not one page), newest first, the same columns as the JSON list.
 */
import type { Request } from 'express';
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import type { Pool } from 'pg';
import { type CaseListFilter, listCases } from '../db/caseViews';
import { HttpProblem } from '../api/problem';
import type { Reply } from '../api/routing';
import { CSV_TYPE, XLSX_TYPE } from './spreadsheet';

/** Far more than a district has open; a larger export is narrowed by the filters (from/to). */
export const MAX_EXPORT_ROWS = 100_000;

const COLUMNS = ['id', 'type', 'status', 'category', 'urgency', 'community', 'partnerId', 'overdue', 'reopenCount', 'dispatchAttempts',
  'createdAt', 'acknowledgedAt', 'completedAt', 'closedAt', 'outcome', 'satisfaction'] as const;

/** The file format the client asked for with Accept, or null for JSON. */
export function exportFormat(req: Request): 'csv' | 'xlsx' | null {
  const best = req.accepts(['application/json', CSV_TYPE, XLSX_TYPE]);
  return best === CSV_TYPE ? 'csv' : best === XLSX_TYPE ? 'xlsx' : null;
}

export async function exportCases(pool: Pool, filter: Omit<CaseListFilter, 'limit' | 'after'>, format: 'csv' | 'xlsx'): Promise<Reply> {
  const rows: unknown[][] = [];
  let after: CaseListFilter['after'] = null;
  do {
    const page = await listCases(pool, { ...filter, after, limit: 500 });
    for (const c of page.items) rows.push(COLUMNS.map((k) => (c as unknown as Record<string, unknown>)[k] ?? ''));
    after = page.cursor;
    if (rows.length > MAX_EXPORT_ROWS) throw new HttpProblem(413, 'Payload too large', `more than ${MAX_EXPORT_ROWS} cases match; narrow the export with from/to or another filter`);
  } while (after);
  const stamp = new Date().toISOString().slice(0, 10);
  if (format === 'csv') {
    const body = `\ufeff${stringify([[...COLUMNS], ...rows.map((r) => r.map(String))])}`;
    return { status: 200, body, contentType: 'text/csv; charset=utf-8', headers: { 'Content-Disposition': `attachment; filename="cases-${stamp}.csv"` } };
  }
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('cases');
  sheet.addRow([...COLUMNS]).font = { bold: true };
  for (const r of rows) sheet.addRow(r);
  sheet.columns.forEach((col) => { col.width = 18; });
  const body = Buffer.from(await wb.xlsx.writeBuffer());
  return { status: 200, body, contentType: XLSX_TYPE, headers: { 'Content-Disposition': `attachment; filename="cases-${stamp}.xlsx"` } };
}
