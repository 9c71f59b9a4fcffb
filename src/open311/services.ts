/** The nine categories as GeoReport v2 services, with the attributes a request needs. */
import { CATEGORIES, type Category, URGENCIES } from '../domain/vocabulary';
import type { Lang } from '../intake/trackMessages';

const NAMES: Record<Category, { 'zh-CN': string; en: string; group: string }> = {
  clothing: { 'zh-CN': '衣', en: 'Clothing', group: 'daily_life' },
  food: { 'zh-CN': '食', en: 'Food and meals', group: 'daily_life' },
  housing: { 'zh-CN': '住', en: 'Housing and repairs', group: 'daily_life' },
  transport: { 'zh-CN': '行', en: 'Getting around', group: 'daily_life' },
  daily_goods: { 'zh-CN': '用', en: 'Daily goods', group: 'daily_life' },
  medical: { 'zh-CN': '医', en: 'Health care', group: 'care' },
  culture: { 'zh-CN': '文化娱乐', en: 'Culture and leisure', group: 'community' },
  employment: { 'zh-CN': '就业帮助', en: 'Help finding work', group: 'community' },
  hardship: { 'zh-CN': '困难帮扶', en: 'Hardship support', group: 'care' },
};

export const isServiceCode = (code: string): code is Category => (CATEGORIES as readonly string[]).includes(code);
export const serviceName = (code: string, lang: Lang) => (isServiceCode(code) ? NAMES[code][lang] : code);

export function services(lang: Lang) {
  return CATEGORIES.map((code) => ({
    service_code: code, service_name: NAMES[code][lang],
    description: lang === 'en' ? `Resident request: ${NAMES[code].en.toLowerCase()}` : `民生诉求：${NAMES[code]['zh-CN']}`,
    metadata: true, type: 'realtime' as const, keywords: `${code}, ${NAMES[code]['zh-CN']}, ${NAMES[code].en}`, group: NAMES[code].group,
  }));
}

export function serviceDefinition(code: Category, lang: Lang) {
  const en = lang === 'en';
  return {
    service_code: code,
    attributes: [
      { variable: true, code: 'community', datatype: 'string', required: true, datatype_description: en ? 'community name' : '社区名称', order: 1, description: en ? 'The community (社区) the resident lives in' : '居民所在社区' },
      { variable: true, code: 'compound', datatype: 'string', required: false, datatype_description: en ? 'compound name' : '小区名称', order: 2, description: en ? 'The residential compound (小区)' : '所在小区' },
      { variable: true, code: 'grid', datatype: 'string', required: false, datatype_description: en ? 'grid name' : '网格名称', order: 3, description: en ? 'The grid (网格) of the community' : '所在网格' },
      {
        variable: true, code: 'urgency', datatype: 'singlevaluelist', required: false, datatype_description: null, order: 4,
        description: en ? 'How urgent the need is (default normal)' : '紧急程度（默认普通）',
        values: URGENCIES.map((u) => ({ key: u, name: en ? u : u === 'urgent' ? '紧急' : '普通' })),
      },
    ],
  };
}
