/**
 * How the client and the workers reach Temporal beyond its address: TLS, mutual TLS, an
 * API key (Temporal Cloud), extra gRPC headers. Read by `@temporalio/envconfig`, the SDK's
 * own reader of Temporal's standard client variables, so the names are the ones every
 * Temporal tool uses (docs/deployment.md):
 *
 *   TEMPORAL_TLS=true|false                   TLS on (implied by any other TLS setting or an API key)
 *   TEMPORAL_TLS_SERVER_CA_CERT_PATH|_DATA    CA that signed the server's certificate (default: system roots)
 *   TEMPORAL_TLS_CLIENT_CERT_PATH|_DATA       client certificate, for mTLS (with the key)
 *   TEMPORAL_TLS_CLIENT_KEY_PATH|_DATA        its private key
 *   TEMPORAL_TLS_SERVER_NAME                  name to verify the server's certificate against
 *   TEMPORAL_API_KEY                          API key (sent as a bearer token; turns TLS on)
 *   TEMPORAL_GRPC_META_<NAME>                 extra gRPC metadata
 *   TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE    a temporal.toml profile, read only when TEMPORAL_CONFIG_FILE is set
 *
 * TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE stay ours (config.ts): `npm start` replaces the
 * address with its dev server's, which never uses these settings.
 */
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ConfigError } from '../config';

export interface TemporalSecurity {
  /** false/undefined = plaintext; true = TLS with the system's roots; an object = custom CA, server name, client pair. */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

const CLIENT_CERT = ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA'];
const CLIENT_KEY = ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA'];

export function temporalSecurityFromEnv(env: Record<string, string | undefined>): TemporalSecurity {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TEMPORAL_') && typeof e[1] === 'string' && e[1] !== ''));
  const hasCert = CLIENT_CERT.some((n) => vars[n]);
  const hasKey = CLIENT_KEY.some((n) => vars[n]);
  // envconfig drops a half pair silently, which would turn intended mTLS into plain TLS.
  if (hasCert !== hasKey) {
    throw new ConfigError(`Invalid Temporal TLS settings: mutual TLS needs both a client certificate (${CLIENT_CERT.join(' or ')}) and its key (${CLIENT_KEY.join(' or ')}); set both or neither.`);
  }
  let options;
  try {
    const file = vars.TEMPORAL_CONFIG_FILE;
    ({ connectionOptions: options } = loadClientConnectConfig({ overrideEnvVars: vars, disableFile: !file, ...(file ? { configSource: { path: file } } : {}) }));
  } catch (err) {
    throw new ConfigError(`Invalid Temporal connection settings (${(err as Error).message}): check TEMPORAL_TLS_*, TEMPORAL_API_KEY and TEMPORAL_CONFIG_FILE.`);
  }
  const security: TemporalSecurity = {};
  if (options.tls !== undefined) security.tls = options.tls as TLSConfig | boolean;
  if (options.apiKey !== undefined) security.apiKey = options.apiKey as string;
  if (options.metadata && Object.keys(options.metadata).length > 0) security.metadata = options.metadata as Record<string, string>;
  return security;
}

/** For logs: how the connection is secured, without a secret in it. */
export function describeTemporalSecurity(s: TemporalSecurity): string {
  const tls = s.tls === undefined || s.tls === false ? 'plaintext'
    : s.tls === true ? 'TLS'
      : s.tls.clientCertPair ? 'mutual TLS' : 'TLS';
  return s.apiKey ? `${tls}, API key` : tls;
}
