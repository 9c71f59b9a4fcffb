/**
 * The words a resident reads on /v1/track and the /track pages, in Chinese and English. Only
 * fixed phrases: nothing here is ever filled with a case's own text.
 */
export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

type Phrases = Record<string, { 'zh-CN': string; en: string }>;

export const CASE_TYPE_LABELS: Phrases = {
  service_request: { 'zh-CN': '民生诉求', en: 'Resident request' },
  registration: { 'zh-CN': '不动产登记', en: 'Real-estate registration' },
  care_plan: { 'zh-CN': '一人一策', en: 'Care plan' },
};

export const STATUS_LABELS: Phrases = {
  received: { 'zh-CN': '已受理', en: 'Received' },
  dispatching: { 'zh-CN': '正在派单', en: 'Finding a service provider' },
  awaiting_ack: { 'zh-CN': '等待服务单位接单', en: 'Waiting for the provider to accept' },
  in_progress: { 'zh-CN': '服务进行中', en: 'Being served' },
  escalated: { 'zh-CN': '已上报督办', en: 'Referred to a supervisor' },
  awaiting_follow_up: { 'zh-CN': '等待回访', en: 'Awaiting a follow-up visit' },
  awaiting_survey: { 'zh-CN': '等待评价', en: 'Awaiting your rating' },
  closed: { 'zh-CN': '已办结', en: 'Closed' },
  cancelled: { 'zh-CN': '已撤销', en: 'Cancelled' },
  awaiting_documents: { 'zh-CN': '等待补充材料', en: 'Waiting for documents' },
  in_review: { 'zh-CN': '部门审核中', en: 'Under review' },
  rejected: { 'zh-CN': '未予登记', en: 'Not registered' },
  issuing: { 'zh-CN': '正在缮证', en: 'Certificate being issued' },
  awaiting_delivery: { 'zh-CN': '等待领证/送证', en: 'Certificate ready for delivery' },
  withdrawn: { 'zh-CN': '已撤回', en: 'Withdrawn' },
  active: { 'zh-CN': '执行中', en: 'Active' },
};

/** Timeline events shown to residents, by event type; any other event (notifications, reminders, timers) is internal. */
export const STEP_LABELS: Phrases = {
  intake: { 'zh-CN': '已受理', en: 'Received' },
  dispatched: { 'zh-CN': '已派单', en: 'Sent to a service provider' },
  assigned: { 'zh-CN': '已指派服务单位', en: 'Provider assigned' },
  accepted: { 'zh-CN': '服务单位已接单', en: 'Provider accepted' },
  escalated: { 'zh-CN': '已上报督办', en: 'Referred to a supervisor' },
  progress: { 'zh-CN': '服务进行中', en: 'Work in progress' },
  completed: { 'zh-CN': '服务已完成', en: 'Service completed' },
  follow_up: { 'zh-CN': '已回访', en: 'Followed up' },
  reopened: { 'zh-CN': '重新办理', en: 'Reopened' },
  survey: { 'zh-CN': '已评价', en: 'Rated' },
  survey_expired: { 'zh-CN': '评价期已过', en: 'Rating period ended' },
  closed: { 'zh-CN': '已办结', en: 'Closed' },
  cancelled: { 'zh-CN': '已撤销', en: 'Cancelled' },
  documents_missing: { 'zh-CN': '一次性告知待补材料', en: 'Missing documents listed' },
  documents_supplemented: { 'zh-CN': '材料已补充', en: 'Documents supplemented' },
  review_requested: { 'zh-CN': '已送部门审核', en: 'Sent for review' },
  review_approved: { 'zh-CN': '部门审核通过', en: 'Review approved' },
  review_rejected: { 'zh-CN': '部门审核未通过', en: 'Review not approved' },
  rejected: { 'zh-CN': '未予登记', en: 'Not registered' },
  certificate_issued: { 'zh-CN': '证书已缮发', en: 'Certificate issued' },
  delivered: { 'zh-CN': '证书已送达', en: 'Certificate delivered' },
  withdrawn: { 'zh-CN': '已撤回', en: 'Withdrawn' },
};

export const PAGE_TEXT: Phrases = {
  title: { 'zh-CN': '办件查询', en: 'Track your case' },
  prompt: { 'zh-CN': '请输入回执上的查询码', en: 'Enter the tracking code from your receipt' },
  submit: { 'zh-CN': '查询', en: 'Look up' },
  notFound: { 'zh-CN': '没有找到这个查询码，请核对后重试。', en: 'No case has this code. Please check it and try again.' },
  code: { 'zh-CN': '查询码', en: 'Tracking code' },
  status: { 'zh-CN': '当前状态', en: 'Status' },
  expectedBy: { 'zh-CN': '预计办理时限', en: 'Expected by' },
  partner: { 'zh-CN': '服务单位', en: 'Served by' },
  steps: { 'zh-CN': '办理进度', en: 'Progress' },
  receipt: { 'zh-CN': '回执：扫码或输入查询码查看进度', en: 'Receipt: scan or enter the code to follow your case' },
  print: { 'zh-CN': '打印本页作为回执', en: 'Print this page as your receipt' },
  otherLang: { 'zh-CN': 'English', en: '中文' },
  tooMany: { 'zh-CN': '查询过于频繁，请稍后再试。', en: 'Too many look-ups; please try again shortly.' },
};

export function phrase(table: Phrases, key: string, lang: Lang): string {
  return table[key]?.[lang] ?? key;
}

/** `?lang=` when it names a language we have, else the best of Accept-Language, else Chinese. */
export function pickLang(queryLang: unknown, acceptLanguage: string | undefined): Lang {
  const asked = typeof queryLang === 'string' ? matchLang(queryLang) : null;
  if (asked) return asked;
  const ranked = (acceptLanguage ?? '').split(',').map((part, i) => {
    const [tag, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    return { tag, q: q ? Number(q[1]) : 1, i };
  }).filter((x) => x.tag && x.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranked) {
    const lang = matchLang(tag);
    if (lang) return lang;
  }
  return 'zh-CN';
}

function matchLang(tag: string): Lang | null {
  const t = tag.trim().toLowerCase();
  if (t === 'zh' || t.startsWith('zh-')) return 'zh-CN';
  if (t === 'en' || t.startsWith('en-')) return 'en';
  return null;
}
