/**
 * The needs list (需求清单) as service-request bodies: one per data row, checked by the same
 * schema as POST /v1/service-requests, every problem named `row N.column`.
 */
import { CreateServiceRequest } from '../api/schemas';
import type { FieldError } from '../api/problem';
import type { Category, Channel, ResidentFlag, Urgency } from '../domain/vocabulary';
import { type Column, lookup, mapColumns, rowValues, splitList } from './columns';
import type { Table } from './spreadsheet';

export const NEEDS_COLUMNS: Column[] = [
  { key: 'name', zh: '姓名', aliases: ['居民姓名'], required: true },
  { key: 'phone', zh: '电话', aliases: ['联系电话', '手机', '手机号'], required: true },
  { key: 'community', zh: '社区', required: true },
  { key: 'compound', zh: '小区' },
  { key: 'grid', zh: '网格' },
  { key: 'address', zh: '地址', aliases: ['住址'] },
  { key: 'category', zh: '类别', aliases: ['需求类别', '服务类别'], required: true },
  { key: 'description', zh: '描述', aliases: ['需求描述', '需求内容'], required: true },
  { key: 'urgency', zh: '紧急程度' },
  { key: 'channel', zh: '渠道' },
  { key: 'flags', zh: '人群标签', aliases: ['标签'] },
];

export const CATEGORY_NAMES: Record<Category, string[]> = {
  clothing: ['衣'], food: ['食'], housing: ['住'], transport: ['行'], daily_goods: ['用'], medical: ['医'],
  culture: ['文化娱乐'], employment: ['就业帮助'], hardship: ['困难帮扶'],
};
const URGENCY_NAMES: Record<Urgency, string[]> = { normal: ['普通'], urgent: ['紧急'] };
const CHANNEL_NAMES: Record<Channel, string[]> = { home_visit: ['入户走访'], phone: ['电话'], walk_in: ['来访'], online: ['网上'] };
const FLAG_NAMES: Record<ResidentFlag, string[]> = { elderly_alone: ['独居老人'], disabled: ['残疾人'], mobility_limited: ['行动不便'], low_income: ['低收入'] };

export type ServiceRequestBody = ReturnType<typeof CreateServiceRequest.parse>;

export function needsListRows(table: Table): { rows: { row: number; body: ServiceRequestBody }[]; errors: FieldError[] } {
  const columns = mapColumns(table, NEEDS_COLUMNS);
  const rows: { row: number; body: ServiceRequestBody }[] = [];
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  for (const { row, cells } of table.rows) {
    const v = rowValues(cells, columns);
    const rowErrors: FieldError[] = [];
    const coded = <T extends string>(field: string, names: Record<T, string[]>, fallback: T): T | string => {
      if (!v[field]) return fallback;
      const code = lookup(names, v[field]);
      if (!code) rowErrors.push({ path: `row ${row}.${field}`, message: `unknown ${field} "${v[field]}"; use one of ${Object.entries(names).map(([c, n]) => `${(n as string[])[0]}/${c}`).join(', ')}` });
      return code ?? v[field];
    };
    const category = v.category ? coded('category', CATEGORY_NAMES, 'housing') : undefined;
    const urgency = coded('urgency', URGENCY_NAMES, 'normal');
    // The needs list is gathered on home visits (入户走访): that is the channel unless a row says otherwise.
    const channel = coded('channel', CHANNEL_NAMES, 'home_visit');
    const flags = splitList(v.flags).map((f) => lookup(FLAG_NAMES, f) ?? (rowErrors.push({ path: `row ${row}.flags`, message: `unknown flag "${f}"` }), f));
    const candidate = {
      resident: {
        name: v.name, phone: v.phone, community: v.community,
        ...(v.compound ? { compound: v.compound } : {}), ...(v.grid ? { grid: v.grid } : {}), ...(v.address ? { address: v.address } : {}),
        ...(flags.length ? { flags: [...new Set(flags)] } : {}),
      },
      category, description: v.description, urgency, channel,
    };
    const parsed = CreateServiceRequest.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] === 'resident' ? issue.path[1] : issue.path[0]);
        if (rowErrors.some((e) => e.path === `row ${row}.${field}`)) continue;
        const missing = v[field] === undefined;
        rowErrors.push({ path: `row ${row}.${field}`, message: missing && issue.code === 'invalid_type' ? 'is empty' : issue.message });
      }
    }
    if (rowErrors.length === 0 && parsed.success) {
      // The same resident with the same need twice in one file is a copy-paste slip, not two cases.
      const key = JSON.stringify([parsed.data.resident.name, parsed.data.resident.phone, parsed.data.category, parsed.data.description]);
      const earlier = seen.get(key);
      if (earlier) rowErrors.push({ path: `row ${row}`, message: `duplicates row ${earlier} (same resident, category and description)` });
      else { seen.set(key, row); rows.push({ row, body: parsed.data }); }
    }
    errors.push(...rowErrors);
  }
  return { rows, errors };
}
