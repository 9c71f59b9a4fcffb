/**
 * The environment, parsed once. A bad value stops start-up with one sentence naming
 * the variable and what to set.
 */
import { z } from 'zod';
import { type Cidr, parseCidrs } from './net/privateAddress';
import { refuseWeakSecrets } from './deployment/secrets';
import { parseTrustProxy, type TrustProxy } from './deployment/trustProxy';
import { parseIsoDuration } from './domain/duration';
import { type TemporalSecurity, temporalSecurityFromEnv } from './temporal/connectionOptions';

const optionalText = z.string().trim().min(1).optional();

const duration = z.coerce.number().int().positive();

const schema = z.object({
  APP_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('gongjian-cases'),
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65535).default(8233),
  TEMPORAL_CLI_PATH: optionalText,
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  PG_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  DATA_DIR: z.string().min(1).default('.data'),
  ADMIN_API_KEY: z.string().optional(),
  WEBHOOK_TIMEOUT_MS: duration.default(10_000),
  // Gone (all or nothing): named ranges in WEBHOOK_ALLOW_CIDRS instead; set to true, it stops start-up with that sentence.
  WEBHOOK_ALLOW_PRIVATE: z.string().optional(),
  PAYLOAD_ENCRYPTION_KEYS: optionalText,
  TEMPORAL_UI_ORIGIN: optionalText,
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  // How long an API process trusts a key it has looked up; a revocation through another API process applies within this. docs/security.md.
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  WORKFLOW_BUNDLE_PATH: optionalText,
  SHUTDOWN_GRACE_MS: duration.default(30_000),
  // Workflows a worker keeps in memory (~0.3-0.4 MB each); cases beyond it wait on the server and replay when woken. See BENCHMARKS.md.
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).default(100),
  // Cases opened by this API continue as new once a run's history has this many events (besides when Temporal suggests it). docs/case-kernel.md.
  CASE_CONTINUE_AS_NEW_AFTER_EVENTS: z.coerce.number().int().min(100).max(50_000).optional(),
  // Intake channels (docs/intake.md): public tracking look-ups per client address, the Open311 jurisdiction, imports.
  TRACK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  OPEN311_JURISDICTION: z.string().trim().min(1).default('gongjian'),
  IMPORT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(16),
  // The worker's Prometheus exporter (SDK and domain metrics), on HOST; 0 turns it off. README "Observing the workers".
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  // AES-256-GCM keys sealing partners' webhook secrets at rest (keyId:base64, first seals, all open). docs/security.md.
  WEBHOOK_SECRET_KEYS: optionalText,
  // Private ranges partner webhooks may reach (comma-separated CIDRs, or `none`); default loopback outside production.
  WEBHOOK_ALLOW_CIDRS: optionalText,
  // Where people reach the API from outside (order links, the console, Secure cookies when https). Unset: http://HOST:PORT.
  PUBLIC_BASE_URL: z.string().url().regex(/^https?:\/\/[^/]+$/, 'must be scheme://host[:port] with no path').optional(),
  // Deployment (docs/deployment.md): which proxies may name the client (false | hops | CIDR list).
  TRUST_PROXY: optionalText,
  // /metrics on its own listener (not on the API port), and/or behind a bearer token.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: optionalText,
  METRICS_BEARER: optionalText,
  // Personal data leaves the read model this long after a case closes (npm run retention).
  RETENTION_AFTER: z.string().refine((v) => (parseIsoDuration(v) ?? 0) > 0, 'must be an ISO 8601 duration such as P365D').default('P365D'),
});

type Env = z.infer<typeof schema>;

export interface Config extends Omit<Env, 'ADMIN_API_KEY' | 'WEBHOOK_ALLOW_PRIVATE' | 'PAYLOAD_ENCRYPTION_KEYS' | 'TEMPORAL_UI_ORIGIN' | 'WEBHOOK_SECRET_KEYS' | 'WEBHOOK_ALLOW_CIDRS'> {
  /** Bootstrap admin keys; several (comma-separated) let an operator rotate without downtime. */
  adminApiKeys: string[];
  /** The non-public ranges partner webhooks may reach anyway (loopback in dev and tests; none in production unless named). */
  webhookAllowCidrs: Cidr[];
  /** AES-256-GCM keys of the Temporal PayloadCodec; the first encrypts, all decrypt. Empty = not configured. */
  payloadEncryptionKeys: PayloadKey[];
  /** Browser origins of the Temporal Web UI, allowed by CORS to call /codec. */
  temporalUiOrigins: string[];
  /** Keys sealing partners' webhook secrets in Postgres; the first seals, all open. Empty = not configured. */
  webhookSecretKeys: PayloadKey[];
  /** Express `trust proxy`: which peers may set X-Forwarded-For/-Proto (src/deployment/trustProxy.ts). */
  trustProxy: TrustProxy;
  /** TLS, mTLS, API key for Temporal, from the TEMPORAL_TLS_* / TEMPORAL_API_KEY variables. */
  temporalSecurity: TemporalSecurity;
  /** RETENTION_AFTER in milliseconds. */
  retentionAfterMs: number;
}

export interface PayloadKey {
  id: string;
  key: Buffer;
}

const HINTS: Record<string, string> = {
  PORT: 'set PORT to a TCP port number such as 3000',
  DATABASE_URL: 'set DATABASE_URL to a postgres:// URL, or unset it to use the embedded Postgres',
  APP_ENV: 'set APP_ENV to development, production or test',
  LOG_LEVEL: 'set LOG_LEVEL to one of fatal, error, warn, info, debug, trace, silent',
  RATE_LIMIT_PER_MINUTE: 'set RATE_LIMIT_PER_MINUTE to requests per minute per API key (0 turns the limit off)',
  RATE_LIMIT_PER_IP_PER_MINUTE: 'set RATE_LIMIT_PER_IP_PER_MINUTE to requests per minute per client address (0 turns the limit off)',
  WORKER_METRICS_PORT: 'set WORKER_METRICS_PORT to a TCP port for the worker metrics, or 0 to turn them off',
  PUBLIC_BASE_URL: 'set PUBLIC_BASE_URL to the address people use, such as https://gongjian.example.org (no path or trailing slash)',
  METRICS_PORT: 'set METRICS_PORT to the TCP port of the separate metrics listener, e.g. 9464',
  RETENTION_AFTER: 'set RETENTION_AFTER to how long after closing a case its personal data is kept, e.g. P365D',
  API_KEY_CACHE_MS: 'set API_KEY_CACHE_MS to milliseconds from 0 (look every key up on every request) to 60000',
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings (FOO= in a .env file) mean "unset".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    const hint = HINTS[name] ?? `check the value of ${name}`;
    throw new ConfigError(`Invalid environment variable ${name} (${issue.message}): ${hint}.`);
  }
  const { ADMIN_API_KEY, WEBHOOK_ALLOW_PRIVATE, PAYLOAD_ENCRYPTION_KEYS, TEMPORAL_UI_ORIGIN, WEBHOOK_SECRET_KEYS, WEBHOOK_ALLOW_CIDRS, ...rest } = parsed.data;
  // `false` asked for what is now the default; `true` would silently mean less than it used to.
  if (WEBHOOK_ALLOW_PRIVATE !== undefined && WEBHOOK_ALLOW_PRIVATE !== 'false') {
    throw new ConfigError('WEBHOOK_ALLOW_PRIVATE is no longer read: name the private ranges partner webhooks may reach in WEBHOOK_ALLOW_CIDRS (comma-separated CIDRs, e.g. 10.20.0.0/16), and unset WEBHOOK_ALLOW_PRIVATE.');
  }
  let webhookAllowCidrs: Cidr[];
  try {
    const cidrs = WEBHOOK_ALLOW_CIDRS ?? (rest.APP_ENV === 'production' ? 'none' : '127.0.0.0/8,::1/128');
    webhookAllowCidrs = cidrs.trim() === 'none' ? [] : parseCidrs(cidrs);
  } catch (err) {
    throw new ConfigError(`Invalid environment variable WEBHOOK_ALLOW_CIDRS: ${(err as Error).message}; list CIDR ranges separated by commas, or none.`);
  }
  // Placeholders and weak keys first: their message says what is wrong with an example value.
  if (rest.APP_ENV === 'production') refuseWeakSecrets(cleaned);
  const adminApiKeys = (ADMIN_API_KEY ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const short = adminApiKeys.find((k) => k.length < 16);
  if (short) throw new ConfigError('Invalid environment variable ADMIN_API_KEY: each key must be at least 16 characters; set a long random value.');
  const payloadEncryptionKeys = PAYLOAD_ENCRYPTION_KEYS ? parsePayloadKeys(PAYLOAD_ENCRYPTION_KEYS) : [];
  if (payloadEncryptionKeys.length === 0 && rest.APP_ENV === 'production') {
    throw new ConfigError('PAYLOAD_ENCRYPTION_KEYS is not set: production refuses to send residents\' data to Temporal unencrypted; set it to keyId:base64-of-32-random-bytes, e.g. k1:$(head -c 32 /dev/urandom | base64).');
  }
  const webhookSecretKeys = WEBHOOK_SECRET_KEYS ? parsePayloadKeys(WEBHOOK_SECRET_KEYS, 'WEBHOOK_SECRET_KEYS') : [];
  if (webhookSecretKeys.length === 0 && rest.APP_ENV === 'production') {
    throw new ConfigError('WEBHOOK_SECRET_KEYS is not set: production refuses to keep partners\' webhook secrets in clear; set it to keyId:base64-of-32-random-bytes, e.g. w1:$(head -c 32 /dev/urandom | base64).');
  }
  return {
    ...rest,
    adminApiKeys,
    webhookSecretKeys,
    webhookAllowCidrs,
    payloadEncryptionKeys,
    temporalUiOrigins: parseOrigins(TEMPORAL_UI_ORIGIN ?? `http://localhost:${rest.TEMPORAL_UI_PORT},http://127.0.0.1:${rest.TEMPORAL_UI_PORT}`),
    trustProxy: parseTrustProxy(rest.TRUST_PROXY),
    temporalSecurity: temporalSecurityFromEnv(cleaned),
    retentionAfterMs: parseIsoDuration(rest.RETENTION_AFTER)!,
  };
}

/** `keyId:base64,keyId:base64`: the first entry encrypts, every entry decrypts (rotation). */
export function parsePayloadKeys(text: string, variable = 'PAYLOAD_ENCRYPTION_KEYS'): PayloadKey[] {
  const keys: PayloadKey[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new ConfigError(`Invalid environment variable ${variable}: each entry is keyId:base64-of-32-bytes, with a key id of letters, digits, dot, dash or underscore.`);
    }
    const material = entry.slice(sep + 1);
    const key = Buffer.from(material, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(material)) {
      throw new ConfigError(`Invalid environment variable ${variable}: key "${id}" must be 32 random bytes in base64 (44 characters); make one with: head -c 32 /dev/urandom | base64.`);
    }
    if (keys.some((k) => k.id === id)) throw new ConfigError(`Invalid environment variable ${variable}: key id "${id}" appears twice; give each key its own id.`);
    keys.push({ id, key });
  }
  return keys;
}

function parseOrigins(text: string): string[] {
  return text.split(',').map((o) => o.trim()).filter(Boolean).map((origin) => {
    let parsed: URL | null = null;
    try { parsed = new URL(origin); } catch { /* reported below */ }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(`Invalid environment variable TEMPORAL_UI_ORIGIN: "${origin}" is not an origin; list the Web UI's origins as scheme://host[:port], comma-separated, with no path or trailing slash.`);
    }
    return origin;
  });
}

/** For processes that need the services configured (npm run api / worker): a clear sentence when they are not. */
export function requireServices(config: Config): { temporalAddress: string; databaseUrl: string } {
  if (!config.TEMPORAL_ADDRESS) throw new ConfigError('TEMPORAL_ADDRESS is not set: set it to your Temporal frontend (host:7233), or use `npm start` to run embedded dev services.');
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set: set it to a postgres:// URL, or use `npm start` to run an embedded Postgres.');
  return { temporalAddress: config.TEMPORAL_ADDRESS, databaseUrl: config.DATABASE_URL };
}
