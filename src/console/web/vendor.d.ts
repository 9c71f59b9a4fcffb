/** ECharts ships its locales as plain modules without type declarations. */
declare module 'echarts/lib/i18n/*.js' {
  const locale: Record<string, unknown>;
  export default locale;
}
declare module '*.css';
