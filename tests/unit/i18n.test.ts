import { negotiateLocale, parseLocale, translate } from '../../src/i18n';
import { en } from '../../src/i18n/en';
import { zhCN } from '../../src/i18n/zh-CN';

it('has every message in both languages, none empty, with the same placeholders', () => {
  expect(Object.keys(en).sort()).toEqual(Object.keys(zhCN).sort());
  for (const [key, zh] of Object.entries(zhCN)) {
    const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    expect({ key, en: placeholders(en[key as keyof typeof en]) }).toEqual({ key, en: placeholders(zh) });
    expect(en[key as keyof typeof en].length).toBeGreaterThan(0);
  }
});

it('uses the accessible names of the contract', () => {
  const pairs: [string, string, string][] = [
    ['action.login', '登录', 'Log in'], ['field.username', '用户名', 'Username'], ['field.password', '密码', 'Password'],
    ['action.accept', '接单', 'Accept'], ['action.decline', '拒单', 'Decline'], ['action.complete', '完成', 'Complete'],
    ['action.checkIn', '签到', 'Check in'], ['action.checkOut', '签退', 'Check out'], ['action.assign', '指派', 'Assign'],
    ['action.acknowledge', '处理督办', 'Acknowledge'], ['action.newRequest', '新建诉求', 'New request'], ['action.logout', '退出', 'Log out'],
  ];
  for (const [key, zh, english] of pairs) expect([translate('zh-CN', key), translate('en', key)]).toEqual([zh, english]);
});

it('negotiates Accept-Language by weight, zh-CN unless English is preferred', () => {
  expect(negotiateLocale(undefined)).toBe('zh-CN');
  expect(negotiateLocale('en-US,en;q=0.9')).toBe('en');
  expect(negotiateLocale('fr-FR, en;q=0.3, zh;q=0.8')).toBe('zh-CN');
  expect(negotiateLocale('de-DE')).toBe('zh-CN');
  expect(negotiateLocale('de-DE', 'en')).toBe('en');
  expect(negotiateLocale('zh-TW;q=0, en;q=0.1')).toBe('en');
  expect(parseLocale('EN')).toBe('en');
  expect(translate('en', 'event.declined', { partner: 'A', reason: 'busy' })).toBe('A declined: busy');
  expect(translate('en', 'no.such.key')).toBe('no.such.key');
});
