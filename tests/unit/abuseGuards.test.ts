/** Pure guards: token buckets, and which webhook targets count as private. */
import { TokenBuckets } from '../../src/api/rateLimit';
import { loadConfig } from '../../src/config';
import { isPrivateAddress, isPrivateHost, parseCidrs, refusedAddressReason, refusedHostReason } from '../../src/net/privateAddress';

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

  it.each([
    ['NAT64', '64:ff9b::a00:1'], ['NAT64 of loopback', '64:ff9b::7f00:1'], ['local-use NAT64', '64:ff9b:1::808:808'],
    ['6to4', '2002:a00:1::1'], ['6to4 of the metadata address', '2002:a9fe:a9fe::1'], ['Teredo', '2001:0:4136:e378:8000:63bf:f5ff:fffe'],
    ['IPv4-translated', '::ffff:0:a00:1'], ['IPv4-compatible', '::a00:1'], ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ])('an IPv6 form embedding a private IPv4 address is private too: %s %s', (_what, ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
    expect(refusedAddressReason(ip, [])).toMatch(/address, not in WEBHOOK_ALLOW_CIDRS/);
  });

  it.each(['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });

  it('lets through only the private ranges named in the allowlist', () => {
    const allow = parseCidrs('10.20.0.0/16, fd00:1::/32');
    expect(refusedAddressReason('10.20.3.4', allow)).toBeNull();
    expect(refusedAddressReason('fd00:1::5', allow)).toBeNull();
    expect(refusedAddressReason('10.21.0.1', allow)).toBe('10.21.0.1 is a private address, not in WEBHOOK_ALLOW_CIDRS');
    expect(refusedAddressReason('127.0.0.1', allow)).toMatch(/loopback/);
    expect(refusedAddressReason('::ffff:127.0.0.1', parseCidrs('127.0.0.0/8'))).toBeNull();
    expect(() => parseCidrs('10.0.0.0/33')).toThrow(/not a CIDR/);
  });

  it('recognises private names and bracketed IPv6 hosts', () => {
    for (const host of ['localhost', 'api.localhost', 'printer.local', 'db.internal', '[::1]']) expect(isPrivateHost(host)).toBe(true);
    expect(isPrivateHost('partner.example.org')).toBe(false);
    expect(refusedHostReason('db.internal', [])).toMatch(/internal name/);
    expect(refusedHostReason('[64:ff9b::a00:1]', [])).toMatch(/private/);
    expect(refusedHostReason('partner.example.org', [])).toBeNull();
  });
});

describe('configuration of webhook targets', () => {
  it('allows loopback outside production, nothing in production, and refuses the old all-or-nothing switch', () => {
    expect(loadConfig({ APP_ENV: 'test' }).webhookAllowCidrs.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual(['127.0.0.0/8', '::1/128']);
    const prod = { APP_ENV: 'production', PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`, WEBHOOK_SECRET_KEYS: `w1:${Buffer.alloc(32, 2).toString('base64')}` };
    expect(loadConfig(prod).webhookAllowCidrs).toEqual([]);
    expect(loadConfig({ ...prod, WEBHOOK_ALLOW_CIDRS: '10.20.0.0/16' }).webhookAllowCidrs).toHaveLength(1);
    expect(() => loadConfig({ ...prod, WEBHOOK_ALLOW_CIDRS: '10.20.0.0' })).toThrow(/WEBHOOK_ALLOW_CIDRS/);
    expect(() => loadConfig({ ...prod, WEBHOOK_ALLOW_PRIVATE: 'true' })).toThrow(/WEBHOOK_ALLOW_PRIVATE is no longer read/);
  });
});
