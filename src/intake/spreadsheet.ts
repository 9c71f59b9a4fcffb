/**
 * A CSV or .xlsx upload as a table of text cells, each row with the number a spreadsheet
 * program shows for it (the header is row 1). CSV by csv-parse, workbooks by ExcelJS after
 * the zip guard; the limits are checked before rows are built.
 */
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { badRequest, HttpProblem } from '../api/problem';
import { checkZip } from './zipGuard';

export const CSV_TYPE = 'text/csv';
export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const MAX_DATA_ROWS = 10_000;
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

export interface Table {
  header: string[];
  /** Data rows that have at least one non-empty cell. */
  rows: { row: number; cells: string[] }[];
}

const tooManyRows = (n: number) => new HttpProblem(413, 'Payload too large', `the file has ${n} data rows; at most ${MAX_DATA_ROWS} per import`);

export async function readTable(body: Buffer, kind: 'csv' | 'xlsx'): Promise<Table> {
  if (body.length === 0) throw badRequest('the file is empty', [{ path: 'body', message: 'send a header row and at least one data row' }]);
  return kind === 'csv' ? readCsv(body) : readXlsx(body);
}

function readCsv(body: Buffer): Table {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw badRequest('the CSV file is not UTF-8', [{ path: 'body', message: 'save the file as "CSV UTF-8" (GBK and other encodings are not read)' }]);
  }
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: false, trim: true, max_record_size: 64 * 1024 });
  } catch (err) {
    const e = err as { code?: string; records?: number; message: string };
    const row = (e.records ?? 0) + 1;
    throw badRequest(`the CSV file cannot be read at row ${row}`, [{ path: `row ${row}`, message: e.message }]);
  }
  if (records.length - 1 > MAX_DATA_ROWS) throw tooManyRows(records.length - 1);
  return toTable(records.map((cells, i) => ({ row: i + 1, cells })));
}

async function readXlsx(body: Buffer): Promise<Table> {
  await checkZip(body);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(body as unknown as ArrayBuffer);
  } catch (err) {
    throw badRequest('the file is not an .xlsx workbook', [{ path: 'body', message: (err as Error).message }]);
  }
  const sheet = wb.worksheets[0];
  if (!sheet) throw badRequest('the workbook has no sheet', [{ path: 'body', message: 'put the list on the first sheet, header in row 1' }]);
  if (sheet.actualRowCount - 1 > MAX_DATA_ROWS) throw tooManyRows(sheet.actualRowCount - 1);
  const rows: { row: number; cells: string[] }[] = [];
  sheet.eachRow({ includeEmpty: false }, (r, n) => {
    const cells: string[] = [];
    for (let c = 1; c <= r.cellCount; c++) cells.push(r.getCell(c).text.trim());
    rows.push({ row: n, cells });
  });
  return toTable(rows);
}

function toTable(rows: { row: number; cells: string[] }[]): Table {
  const first = rows[0];
  if (!first || first.row !== 1 || first.cells.every((c) => c === '')) {
    throw badRequest('the header row is missing', [{ path: 'row 1', message: 'row 1 names the columns' }]);
  }
  const header = first.cells;
  // Postgres text cannot hold U+0000: refused here, it is a 400; let through, a case whose read-model writes fail.
  const nul = rows.flatMap((r) => r.cells.flatMap((c, i) => (c.includes('\u0000') ? [{ path: `row ${r.row}.${header[i] || i + 1}`, message: 'must not contain the NUL character (U+0000)' }] : [])));
  if (nul.length) throw badRequest(`${nul.length} cell(s) contain the NUL character`, nul.slice(0, 1000));
  const data = rows.slice(1).filter((r) => r.cells.some((c) => c !== ''));
  if (data.length === 0) throw badRequest('the file has no data rows', [{ path: 'row 2', message: 'no row below the header has a value' }]);
  const wide = data.find((r) => r.cells.slice(header.length).some((c) => c !== ''));
  if (wide) throw badRequest(`row ${wide.row} has more cells than the header has columns`, [{ path: `row ${wide.row}`, message: `has values beyond the ${header.length} named columns` }]);
  return { header, rows: data };
}
