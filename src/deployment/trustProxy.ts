/**
 * TRUST_PROXY: which peers may tell the API the client's address (X-Forwarded-For) and
 * scheme (X-Forwarded-Proto). It decides the per-address rate-limit bucket, the audit's
 * view of the client and whether the codec cookie is marked Secure, so it must match the
 * deployment: trusting too little puts every client in the proxy's bucket, trusting too
 * much lets any client pick its own address.
 *
 *   false              ignore the headers (the API is reached directly)
 *   1, 2, ...          trust that many proxy hops in front of the API
 *   loopback,10.0.0.0/8,...  trust peers in these ranges (names: loopback, linklocal, uniquelocal)
 *
 * The value is handed to Express's `trust proxy` setting.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../config';

export type TrustProxy = false | number | string[];

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

const refuse = (why: string) => new ConfigError(`Invalid environment variable TRUST_PROXY (${why}): set it to false, a number of proxy hops such as 1, or a comma-separated list of addresses/CIDRs (loopback, linklocal, uniquelocal allowed), e.g. loopback,172.16.0.0/12.`);

export function parseTrustProxy(text: string | undefined): TrustProxy {
  const value = (text ?? 'loopback').trim();
  if (value === 'false') return false;
  // "true" (trust every peer) would let any client spoof its address and dodge the per-address limit.
  if (value === 'true') throw refuse('"true" trusts any client to name its own address');
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 10) throw refuse(`${hops} hops is implausible`);
    return hops === 0 ? false : hops;
  }
  const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw refuse('empty');
  for (const entry of entries) {
    if (NAMED_RANGES.has(entry)) continue;
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (family === 0 || rest.length > 0 || !prefixOk) throw refuse(`"${entry}" is not an address, a CIDR range or a named range`);
  }
  return entries;
}

/** The form Express's `trust proxy` setting takes. */
export function expressTrustProxy(trust: TrustProxy): boolean | number | string {
  return Array.isArray(trust) ? trust.join(',') : trust;
}
