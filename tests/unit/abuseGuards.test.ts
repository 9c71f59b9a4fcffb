/** Pure guards: token buckets, and which webhook targets count as private. */
import { TokenBuckets } from '../../src/api/rateLimit';
import { isPrivateAddress, isPrivateHost, privateTargetReason } from '../../src/net/privateAddress';

describe('token buckets', () => {
  it('grants a minute\'s allowance, then says how long to wait, then refills with time', () => {
    let now = 0;
    const buckets = new TokenBuckets(3, () => now);
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(20); // one token per 20 s at 3 a minute
    expect(buckets.take('b')).toBe(0); // buckets are independent
    now += 20_000;
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(20);
  });

  it('drops idle buckets rather than growing without bound', () => {
    let now = 0;
    const buckets = new TokenBuckets(60, () => now);
    for (let i = 0; i < 10_000; i++) buckets.take(`ip-${i}`);
    now += 60_000; // all of them full again
    buckets.take('one-more');
    expect(buckets.size).toBe(1);
  });
});

describe('private webhook targets', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '::1', '::', 'fd12::1', 'fe80::1', '::ffff:10.0.0.1', 'ff02::1',
  ])('%s is private', (ip) => expect(isPrivateAddress(ip)).toBe(true));

  it.each(['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });

  it('recognises private names and bracketed IPv6 hosts', () => {
    for (const host of ['localhost', 'api.localhost', 'printer.local', 'db.internal', '[::1]']) expect(isPrivateHost(host)).toBe(true);
    expect(isPrivateHost('partner.example.org')).toBe(false);
  });

  it('resolves names at delivery, so a public name pointing at a private address is refused (DNS rebinding)', async () => {
    const resolvesTo = (...ips: string[]) => async () => ips;
    expect(await privateTargetReason('https://partner.example.org/hook', resolvesTo('93.184.216.34'))).toBeNull();
    expect(await privateTargetReason('https://partner.example.org/hook', resolvesTo('93.184.216.34', '10.0.0.7')))
      .toBe('webhook host partner.example.org resolves to the private address 10.0.0.7');
    expect(await privateTargetReason('http://127.0.0.1:9/hook', resolvesTo())).toMatch(/loopback or private/);
    await expect(privateTargetReason('https://nowhere.example.org/', async () => { throw new Error('ENOTFOUND'); })).rejects.toThrow('ENOTFOUND');
  });
});
