/**
 * The environment, parsed once. A bad value stops start-up with one sentence naming
 * the variable and what to set.
 */
import { z } from 'zod';

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
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65535).default(8233),
  TEMPORAL_CLI_PATH: optionalText,
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  PG_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  DATA_DIR: z.string().min(1).default('.data'),
  ADMIN_API_KEY: z.string().optional(),
  WEBHOOK_TIMEOUT_MS: duration.default(10_000),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).optional(),
  WORKFLOW_BUNDLE_PATH: optionalText,
  SHUTDOWN_GRACE_MS: duration.default(30_000),
});

type Env = z.infer<typeof schema>;

export interface Config extends Omit<Env, 'ADMIN_API_KEY' | 'WEBHOOK_ALLOW_PRIVATE'> {
  /** Bootstrap admin keys; several (comma-separated) let an operator rotate without downtime. */
  adminApiKeys: string[];
  /** Whether partner webhooks may point at loopback or private addresses (dev and tests). */
  webhookAllowPrivate: boolean;
}

const HINTS: Record<string, string> = {
  PORT: 'set PORT to a TCP port number such as 3000',
  DATABASE_URL: 'set DATABASE_URL to a postgres:// URL, or unset it to use the embedded Postgres',
  APP_ENV: 'set APP_ENV to development, production or test',
  LOG_LEVEL: 'set LOG_LEVEL to one of fatal, error, warn, info, debug, trace, silent',
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
  const { ADMIN_API_KEY, WEBHOOK_ALLOW_PRIVATE, ...rest } = parsed.data;
  const adminApiKeys = (ADMIN_API_KEY ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const short = adminApiKeys.find((k) => k.length < 16);
  if (short) throw new ConfigError('Invalid environment variable ADMIN_API_KEY: each key must be at least 16 characters; set a long random value.');
  return {
    ...rest,
    adminApiKeys,
    webhookAllowPrivate: WEBHOOK_ALLOW_PRIVATE ? WEBHOOK_ALLOW_PRIVATE === 'true' : rest.APP_ENV !== 'production',
  };
}

/** For processes that need the services configured (npm run api / worker): a clear sentence when they are not. */
export function requireServices(config: Config): { temporalAddress: string; databaseUrl: string } {
  if (!config.TEMPORAL_ADDRESS) throw new ConfigError('TEMPORAL_ADDRESS is not set: set it to your Temporal frontend (host:7233), or use `npm start` to run embedded dev services.');
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set: set it to a postgres:// URL, or use `npm start` to run an embedded Postgres.');
  return { temporalAddress: config.TEMPORAL_ADDRESS, databaseUrl: config.DATABASE_URL };
}
