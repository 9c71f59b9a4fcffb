/**
 * Which addresses a partner webhook may reach (SSRF into our own network). Classification is
 * ipaddr.js's (a maintained table of special ranges), plus the IPv6 forms that embed an IPv4
 * address (IPv4-mapped, IPv4-translated, NAT64, 6to4, Teredo): those count as the IPv4
 * address they carry, so 64:ff9b::a00:1 is 10.0.0.1. Private ranges are reachable only when
 * named in WEBHOOK_ALLOW_CIDRS.
 *
 * The check that matters runs at the socket (webhookDispatcher.ts): the address the
 * connection is actually opened to, not an earlier, separate DNS answer.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type Cidr = [Address, number];

const PRIVATE_NAMES = /(^localhost$|\.localhost$|\.local$|\.internal$)/;

/** IPv6 ranges whose last 32 bits (or, for 6to4, bits 16-47) are an IPv4 address. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  const range = ip.range();
  const bytes = ip.toByteArray();
  const v4 = (b: number[]) => new ipaddr.IPv4(b);
  if (range === 'ipv4Mapped' || range === 'rfc6145') return v4(bytes.slice(12));
  // RFC 6052 well-known NAT64 prefix 64:ff9b::/96 (the local-use 64:ff9b:1::/48 is private as a whole).
  if (range === 'rfc6052' && ip.match(ipaddr.IPv6.parse('64:ff9b::'), 96)) return v4(bytes.slice(12));
  if (range === '6to4') return v4(bytes.slice(2, 6));
  // Teredo: the client's address is the last 32 bits, inverted.
  if (range === 'teredo') return v4(bytes.slice(12).map((b) => b ^ 0xff));
  // IPv4-compatible ::a.b.c.d (deprecated, still routable by some stacks).
  if (bytes.slice(0, 12).every((b) => b === 0) && !['unspecified', 'loopback'].includes(range)) return v4(bytes.slice(12));
  return null;
}

/** Why this literal address is not public unicast (e.g. "private", "loopback", "6to4 of private"), or null. */
export function nonPublicReason(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return null;
  const parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv4') {
    const range = parsed.range();
    return range === 'unicast' ? null : range;
  }
  const v6 = parsed as ipaddr.IPv6;
  const inner = embeddedIPv4(v6);
  if (inner) {
    const innerReason = nonPublicReason(inner.toString());
    return innerReason ? `${v6.range()} form of ${innerReason} ${inner.toString()}` : null;
  }
  const range = v6.range();
  return range === 'unicast' ? null : range;
}

/** Whether a literal IP address is not a public unicast address. */
export function isPrivateAddress(ip: string): boolean {
  return nonPublicReason(ip) !== null;
}

/** `10.0.0.0/8,fd00::/8`: the private ranges partners' webhooks may reach anyway. */
export function parseCidrs(text: string): Cidr[] {
  return text.split(',').map((c) => c.trim()).filter(Boolean).map((c) => {
    if (!ipaddr.isValidCIDR(c)) throw new Error(`"${c}" is not a CIDR range such as 10.20.0.0/16 or fd00::/8`);
    return ipaddr.parseCIDR(c) as Cidr;
  });
}

function inAllowlist(ip: string, allow: readonly Cidr[]): boolean {
  if (!ipaddr.isValid(ip) || allow.length === 0) return false;
  let addr: Address = ipaddr.parse(ip);
  // Match an IPv4-mapped address against IPv4 ranges too (::ffff:127.0.0.1 is 127.0.0.1).
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return allow.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits));
}

/** Why a connection to `ip` must not be opened, or null: non-public and not allowlisted. */
export function refusedAddressReason(ip: string, allow: readonly Cidr[]): string | null {
  const reason = nonPublicReason(ip);
  if (!reason || inAllowlist(ip, allow)) return null;
  return `${ip} is a ${reason} address, not in WEBHOOK_ALLOW_CIDRS`;
}

/**
 * Registration-time check of a URL host (name or literal, IPv6 possibly in brackets), without
 * DNS: a literal address as at the socket; the names of internal zones only when some
 * private range is allowlisted at all.
 */
export function refusedHostReason(host: string, allow: readonly Cidr[]): string | null {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (ipaddr.isValid(h)) return refusedAddressReason(h, allow);
  if (PRIVATE_NAMES.test(h) && allow.length === 0) return `${h} is an internal name`;
  return null;
}

/** Whether a URL host is obviously private (internal name or non-public literal), without DNS or allowlist. */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return PRIVATE_NAMES.test(h) || isPrivateAddress(h);
}
