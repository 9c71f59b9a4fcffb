/** Header row -> canonical columns, in Chinese or English; each bad header cell is named. */
import { badRequest, type FieldError } from '../api/problem';
import type { Table } from './spreadsheet';

export interface Column { key: string; zh: string; aliases?: string[]; required?: boolean }

/** `电话（必填）`, ` Phone * `, `PHONE` all read as the same header. */
const normalise = (h: string) => h.replace(/[（(][^)）]*[)）]/g, '').replace(/[*＊\s]/g, '').toLowerCase();

export function mapColumns(table: Table, columns: Column[]): Map<string, number> {
  const byName = new Map<string, string>();
  for (const c of columns) for (const n of [c.key, c.zh, ...(c.aliases ?? [])]) byName.set(normalise(n), c.key);
  const found = new Map<string, number>();
  const errors: FieldError[] = [];
  table.header.forEach((h, i) => {
    if (h === '') return;
    const key = byName.get(normalise(h));
    if (!key) errors.push({ path: `row 1.${h}`, message: `unknown column "${h}"; the columns are ${columns.map((c) => `${c.zh}/${c.key}`).join(', ')}` });
    else if (found.has(key)) errors.push({ path: `row 1.${h}`, message: `column ${key} appears twice` });
    else found.set(key, i);
  });
  for (const c of columns) if (c.required && !found.has(c.key)) errors.push({ path: `row 1.${c.key}`, message: `the column ${c.zh}/${c.key} is missing` });
  if (errors.length) throw badRequest(`the header row has ${errors.length} problem(s)`, errors);
  return found;
}

/** A row's cells by canonical column; empty cells are absent. */
export function rowValues(cells: string[], columns: Map<string, number>): Record<string, string> {
  const v: Record<string, string> = {};
  for (const [key, i] of columns) if (cells[i]) v[key] = cells[i];
  return v;
}

/** A value by its code or any of its names (Chinese or English, any case). */
export function lookup<T extends string>(names: Record<T, string[]>, value: string): T | undefined {
  const v = value.trim().toLowerCase();
  for (const [code, list] of Object.entries(names) as [T, string[]][]) {
    if (code.toLowerCase() === v || list.some((n) => n.toLowerCase() === v)) return code;
  }
  return undefined;
}

/** `衣、食` / `clothing,food` / `a; b` -> ['衣', '食']. */
export const splitList = (s: string | undefined) => (s ?? '').split(/[、,，;；|\n]/).map((x) => x.trim()).filter(Boolean);
