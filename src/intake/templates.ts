/** Empty import templates: the header row in Chinese or English, as CSV (with BOM) or .xlsx. */
import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import type { Reply } from '../api/routing';
import type { Column } from './columns';
import { XLSX_TYPE } from './spreadsheet';

export async function templateFile(columns: Column[], kind: string, format: 'csv' | 'xlsx', lang: 'zh-CN' | 'en'): Promise<Reply> {
  const header = columns.map((c) => (lang === 'en' ? c.key : c.zh));
  const name = `${kind}-template`;
  if (format === 'csv') {
    return { status: 200, body: `\ufeff${stringify([header])}`, contentType: 'text/csv; charset=utf-8', headers: { 'Content-Disposition': `attachment; filename="${name}.csv"` } };
  }
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet(lang === 'en' ? 'list' : '清单');
  const row = sheet.addRow(header);
  row.font = { bold: true };
  columns.forEach((c, i) => {
    const col = sheet.getColumn(i + 1);
    col.width = Math.max(12, header[i].length * 2 + 4);
    // Phones and codes are text: Excel would otherwise drop leading zeros or write 1.39E+10.
    col.numFmt = '@';
    if (c.required) row.getCell(i + 1).note = lang === 'en' ? 'required' : '必填';
  });
  return { status: 200, body: Buffer.from(await wb.xlsx.writeBuffer()), contentType: XLSX_TYPE, headers: { 'Content-Disposition': `attachment; filename="${name}.xlsx"` } };
}
