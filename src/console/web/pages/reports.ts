/**
 * 统计报表: the report's measures from /v1/reports/summary as Apache ECharts charts (Chinese
 * locale when the page is in Chinese). Each chart has its numbers in a table too, for screen
 * readers and for anyone who wants the figure rather than the bar.
 */
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import langEN from 'echarts/lib/i18n/langEN.js';
import langZH from 'echarts/lib/i18n/langZH.js';
import { CanvasRenderer } from 'echarts/renderers';
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, h, select } from '../dom';
import { currentLocale, t } from '../i18n';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);
echarts.registerLocale('ZH', langZH as never);
echarts.registerLocale('EN', langEN as never);

interface Measures {
  total: number; timeToAcknowledge: { median: number | null }; timeToComplete: { median: number | null };
  insideSlaShare: number | null; reopenRate: number | null; satisfaction: { mean: number | null };
}
interface Summary { groups: (Measures & { key: string | null; label: string | null })[]; overall: Measures }

const minutes = (s: number | null) => (s === null ? null : Math.round(s / 6) / 10);
const pct = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 10);

const MEASURES: [string, (m: Measures) => number | null][] = [
  ['reports.total', (m) => m.total],
  ['reports.ackMedian', (m) => minutes(m.timeToAcknowledge.median)],
  ['reports.completeMedian', (m) => minutes(m.timeToComplete.median)],
  ['reports.insideSla', (m) => pct(m.insideSlaShare)],
  ['reports.reopenRate', (m) => pct(m.reopenRate)],
  ['reports.satisfaction', (m) => m.satisfaction.mean],
];

const charts: echarts.ECharts[] = [];

function chart(title: string, categories: string[], series: { name: string; data: (number | null)[] }[], type: 'bar' | 'line', testId: string): HTMLElement {
  const el = h('div', { className: 'chart', role: 'img', 'aria-label': title });
  const table = h('table', { className: 'chart-data', 'data-testid': testId }, h('caption', {}, `${title} · ${t('reports.chartData')}`),
    h('thead', {}, h('tr', {}, h('th', {}, ''), series.map((s) => h('th', { scope: 'col' }, s.name)))),
    h('tbody', {}, categories.map((c, i) => h('tr', {}, h('th', { scope: 'row' }, c), series.map((s) => h('td', {}, s.data[i] === null ? '–' : String(s.data[i])))))));
  // Drawn once the element is on the page and has a size (ECharts measures its container).
  let c: echarts.ECharts | null = null;
  const observer = new ResizeObserver(() => {
    if (!el.isConnected || el.clientWidth === 0) return;
    if (c) { c.resize(); return; }
    c = echarts.init(el, undefined, { locale: currentLocale() === 'en' ? 'EN' : 'ZH', renderer: 'canvas' });
    c.setOption({
      title: { text: title, left: 'left', textStyle: { fontSize: 14 } }, tooltip: { trigger: 'axis' }, legend: { show: series.length > 1, top: 24 },
      grid: { top: 48, left: 48, right: 16, bottom: 48 }, xAxis: { type: 'category', data: categories, axisLabel: { interval: 0, rotate: categories.length > 5 ? 30 : 0 } },
      yAxis: { type: 'value' }, series: series.map((s) => ({ ...s, type })),
    });
    charts.push(c);
  });
  observer.observe(el);
  return h('figure', { className: 'card' }, el, h('details', {}, h('summary', {}, t('reports.chartData')), table));
}

export async function reportsPage(ctx: Ctx, _arg: string, query: URLSearchParams): Promise<HTMLElement> {
  while (charts.length) charts.pop()!.dispose();
  void ctx;
  const groupBy = (['category', 'partner', 'community'].includes(query.get('groupBy') ?? '') ? query.get('groupBy') : 'category') as string;
  const summary = await api<Summary>('GET', `/v1/reports/summary?groupBy=${groupBy}`);
  const label = (g: Summary['groups'][number]) => (groupBy === 'category' && g.key ? t(`cat.${g.key}`) : g.label ?? g.key ?? '—');
  const categories = summary.groups.map(label);
  const figures = MEASURES.map(([key, get], i) => chart(t(key), categories, [{ name: t(key), data: summary.groups.map(get) }], 'bar', `chart-${i}`));

  // Over time: the last 8 weeks, one summary per week.
  const now = Date.now();
  const weeks = Array.from({ length: 8 }, (_, i) => ({ from: new Date(now - (8 - i) * 7 * 86400_000), to: new Date(now - (7 - i) * 7 * 86400_000) }));
  const perWeek = await Promise.all(weeks.map((w) => api<Summary>('GET', `/v1/reports/summary?groupBy=${groupBy}&from=${w.from.toISOString()}&to=${w.to.toISOString()}`).then((s) => s.overall.total).catch(() => null)));
  const weekLabels = weeks.map((w) => w.to.toLocaleDateString(currentLocale() === 'en' ? 'en-GB' : 'zh-CN', { month: 'numeric', day: 'numeric' }));
  figures.push(chart(t('reports.overTime'), weekLabels, [{ name: t('reports.total'), data: perWeek }], 'line', 'chart-weeks'));

  const group = select('groupBy', [['category', t('reports.byCategory')], ['partner', t('reports.byPartner')], ['community', t('reports.byCommunity')]], { value: groupBy });
  group.addEventListener('change', () => ctx.go(`#/reports?groupBy=${group.value}`));
  return h('section', {}, h('h1', {}, t('reports.title')), h('div', { className: 'filters' }, field(t('field.groupBy'), group)), h('div', { className: 'charts' }, figures));
}
