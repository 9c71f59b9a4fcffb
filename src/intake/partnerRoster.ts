/** The partner roster (共建单位名单) as partner bodies, checked by the schema of POST /v1/partners. */
import type { FieldError } from '../api/problem';
import { CreatePartner } from '../api/schemas';
import type { Department, Institution, PartnerKind } from '../domain/vocabulary';
import { type Column, lookup, mapColumns, rowValues, splitList } from './columns';
import { CATEGORY_NAMES } from './needsList';
import type { Table } from './spreadsheet';

export const PARTNER_COLUMNS: Column[] = [
  { key: 'name', zh: '名称', aliases: ['单位名称'], required: true },
  { key: 'kind', zh: '类型', aliases: ['单位类型'], required: true },
  { key: 'categories', zh: '服务类别', aliases: ['类别'] },
  { key: 'communities', zh: '服务社区', aliases: ['社区'] },
  { key: 'grids', zh: '网格' },
  { key: 'capacity', zh: '容量', aliases: ['接单上限'], required: true },
  { key: 'webhookUrl', zh: '回调地址', aliases: ['webhook_url', 'webhook'] },
  { key: 'webhookSecret', zh: '回调密钥', aliases: ['webhook_secret', 'secret'] },
  { key: 'active', zh: '启用' },
  { key: 'department', zh: '部门' },
  { key: 'institution', zh: '机构' },
  { key: 'hours', zh: '服务时间' },
];

const KIND_NAMES: Record<PartnerKind, string[]> = {
  co_building_unit: ['共建单位'], social_org: ['社会组织'], volunteer_team: ['志愿服务队', '志愿者队伍'], enterprise: ['企业'],
  property_company: ['物业公司', '物业'], department: ['部门', '职能部门'], linked_institution: ['联动机构'],
};
const DEPARTMENT_NAMES: Record<Department, string[]> = { tax: ['税务'], housing: ['住建', '房产'], natural_resources: ['自然资源'] };
const INSTITUTION_NAMES: Record<Institution, string[]> = { bank: ['银行'], provident_fund: ['公积金'], notary: ['公证'], court: ['法院'] };
const YES = ['是', 'true', 'yes', '1', 'y'];
const NO = ['否', 'false', 'no', '0', 'n'];

export type PartnerBody = ReturnType<typeof CreatePartner.parse>;

export function partnerRosterRows(table: Table): { rows: { row: number; body: PartnerBody }[]; errors: FieldError[] } {
  const columns = mapColumns(table, PARTNER_COLUMNS);
  const rows: { row: number; body: PartnerBody }[] = [];
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  for (const { row, cells } of table.rows) {
    const v = rowValues(cells, columns);
    const rowErrors: FieldError[] = [];
    const coded = (field: string, names: Record<string, string[]>, value: string | undefined) => {
      if (value === undefined) return undefined;
      const code = lookup(names, value);
      if (!code) rowErrors.push({ path: `row ${row}.${field}`, message: `unknown ${field} "${value}"; use one of ${Object.entries(names).map(([c, n]) => `${n[0]}/${c}`).join(', ')}` });
      return code ?? value;
    };
    const active = v.active === undefined ? undefined : YES.includes(v.active.toLowerCase()) ? true : NO.includes(v.active.toLowerCase()) ? false : v.active;
    const capacity = v.capacity !== undefined && /^\d+$/.test(v.capacity) ? Number(v.capacity) : v.capacity;
    const candidate = {
      name: v.name, kind: coded('kind', KIND_NAMES, v.kind),
      categories: splitList(v.categories).map((c) => coded('categories', CATEGORY_NAMES, c)!),
      communities: splitList(v.communities), ...(v.grids ? { grids: splitList(v.grids) } : {}),
      capacity, ...(v.webhookUrl ? { webhookUrl: v.webhookUrl } : {}), ...(v.webhookSecret ? { webhookSecret: v.webhookSecret } : {}), // both or neither: a partner without its own system works from order links
      ...(active !== undefined ? { active } : {}),
      ...(v.department ? { department: coded('department', DEPARTMENT_NAMES, v.department) } : {}),
      ...(v.institution ? { institution: coded('institution', INSTITUTION_NAMES, v.institution) } : {}),
      ...(v.hours ? { hours: v.hours } : {}),
    };
    const parsed = CreatePartner.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] ?? 'row');
        if (rowErrors.some((e) => e.path === `row ${row}.${field}`)) continue;
        rowErrors.push({ path: `row ${row}.${field}`, message: v[field] === undefined && issue.code === 'invalid_type' ? 'is empty' : issue.message });
      }
    }
    if (rowErrors.length === 0 && parsed.success) {
      const earlier = seen.get(parsed.data.name);
      if (earlier) rowErrors.push({ path: `row ${row}.name`, message: `the partner "${parsed.data.name}" is already in row ${earlier}` });
      else { seen.set(parsed.data.name, row); rows.push({ row, body: parsed.data }); }
    }
    errors.push(...rowErrors);
  }
  return { rows, errors };
}
