/**
 * The HTTP agent of partner webhooks, which refuses non-public addresses where it matters: at
 * the socket. A separate DNS check before `fetch` is not enough, since fetch resolves again and
 * a name with TTL 0 can answer a public address to the check and 10.0.0.1 to the connection.
 * Here the agent's own `lookup` (the one the connection uses) refuses a name that resolves
 * to any non-public address outside WEBHOOK_ALLOW_CIDRS, and, as a second line, the connected
 * socket's remote address is checked before a byte of the request is written (literal IP
 * URLs, which skip DNS, included).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type Socket } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { type Cidr, refusedAddressReason } from './privateAddress';

/** A webhook target refused for its address: never retried (DNS rebinding, an internal host). */
export class WebhookAddressRefused extends Error {
  readonly code = 'GJ_WEBHOOK_ADDRESS_REFUSED';
}

/** `dns.lookup` with `all: true`; tests pass a resolver of their own. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) => new Promise((resolve, reject) => {
  dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
});

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/tls.connect that answers only when every address of the name may be dialled. */
export function guardedLookup(allow: readonly Cidr[], resolve: Resolver = systemResolver) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname).then((all) => {
      const addresses = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
      const refused = addresses.map((a) => refusedAddressReason(a.address, allow)).find(Boolean);
      if (refused) return callback(new WebhookAddressRefused(`webhook host ${hostname} resolves to ${refused}`), '', undefined);
      if (addresses.length === 0) {
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', undefined);
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    }, (err: NodeJS.ErrnoException) => callback(err, '', undefined));
  };
}

/** The agent, and the same policy for URLs whose host is a literal address (no DNS: refused before any connection). */
export class WebhookAgent extends Agent {
  constructor(readonly allow: readonly Cidr[], connect: Agent.Options['connect']) {
    super({ connect });
  }

  refusedUrl(url: string): string | null {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (!isIP(host)) return null;
    const reason = refusedAddressReason(host, this.allow);
    return reason ? `webhook host ${reason}` : null;
  }
}

export function webhookDispatcher(opts: { allow: readonly Cidr[]; resolve?: Resolver }): WebhookAgent {
  const base = buildConnector({ lookup: guardedLookup(opts.allow, opts.resolve) as never });
  return new WebhookAgent(opts.allow, (options, callback) => {
    base(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      const remote = (socket as Socket).remoteAddress ?? '';
      const refused = refusedAddressReason(remote, opts.allow);
      if (refused) {
        socket.destroy();
        return callback(new WebhookAddressRefused(`webhook connection to ${options.hostname} reached ${refused}`), null);
      }
      callback(null, socket);
    });
  });
}

/**
 * The fetch of the same undici package as the agent: Node's bundled fetch accepts the agent
 * too, but may re-wrap the connector's errors, losing which refusal it was.
 */
export const webhookFetch = undiciFetch as unknown as typeof fetch;

/** The refusal inside a failed fetch (`TypeError: fetch failed` with the connector's error as its cause), if that is why. */
export function addressRefusal(err: unknown): WebhookAddressRefused | null {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof WebhookAddressRefused || (e as { code?: string }).code === 'GJ_WEBHOOK_ADDRESS_REFUSED') return e as WebhookAddressRefused;
  }
  return null;
}
