/**
 * Loopback, private, link-local and other non-public addresses: partner webhooks may not
 * point there in production (SSRF into our own network), unless WEBHOOK_ALLOW_PRIVATE=true.
 * Checked on the URL when a partner is registered, and on the resolved addresses at every
 * delivery, so a name that later resolves to 10.x (DNS rebinding) is refused too.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

const PRIVATE_NAMES = /(^localhost$|\.localhost$|\.local$|\.internal$)/;

function isPrivateIPv4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return a === 0 || a === 10 || a === 127 || a >= 224 // this network, private, loopback, multicast and reserved
    || (a === 100 && b >= 64 && b <= 127) // carrier-grade NAT
    || (a === 169 && b === 254) // link-local, cloud metadata
    || (a === 172 && b >= 16 && b <= 31)
    || (a === 192 && b === 168)
    || (a === 192 && b === 0 && ip.split('.')[2] === '0')
    || (a === 198 && (b === 18 || b === 19));
}

function isPrivateIPv6(ip: string): boolean {
  const h = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return isPrivateIPv4(mapped[1]);
  return h === '::' || h === '::1' || h.startsWith('::ffff:') || /^f[cd]/.test(h) || /^fe[89ab]/.test(h) || h.startsWith('ff');
}

/** Whether a literal IP address is not a public unicast address. */
export function isPrivateAddress(ip: string): boolean {
  const kind = isIP(ip);
  if (kind === 4) return isPrivateIPv4(ip);
  if (kind === 6) return isPrivateIPv6(ip);
  return false;
}

/** Whether a URL host (name or literal, IPv6 possibly in brackets) is obviously private, without DNS. */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return PRIVATE_NAMES.test(h) || isPrivateAddress(h);
}

export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveAllAddresses: ResolveHost = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Why a webhook URL must not be called now, or null when every address it resolves to is
 * public. DNS failures propagate (a transient error: the delivery is retried).
 */
export async function privateTargetReason(url: string, resolve: ResolveHost = resolveAllAddresses): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isPrivateHost(host)) return `webhook host ${host} is loopback or private`;
  if (isIP(host)) return null;
  const addresses = await resolve(host);
  const blocked = addresses.find(isPrivateAddress);
  return blocked ? `webhook host ${host} resolves to the private address ${blocked}` : null;
}
