/**
 * Production start-up refuses secrets that are placeholders (the values of deploy/env.example,
 * "change-me" and the like) or too weak to guess-proof: a stack brought up from the example
 * file without editing it must not run with a key anyone can read in the repository.
 */
import { ConfigError } from '../config';

/** Words that only a placeholder contains. Matched case-insensitively anywhere in the value. */
const PLACEHOLDER = /replace[-_ ]?me|change[-_ ]?me|changeit|placeholder|example|your[-_ ]|fill[-_ ]?in|todo|xxxx|secret123|password123|^(secret|password|admin|test|default|dev)$/i;

/** `keyId:base64,keyId:base64` -> the key materials. */
function keyList(v: string): string[] {
  return v.split(',').map((e) => e.trim()).filter(Boolean).map((e) => e.slice(e.indexOf(':') + 1));
}

/** The secrets checked in production: variable name -> how to read the secret out of its value. */
const SECRET_VARIABLES: Record<string, (value: string) => string[]> = {
  ADMIN_API_KEY: (v) => v.split(',').map((k) => k.trim()).filter(Boolean),
  PAYLOAD_ENCRYPTION_KEYS: keyList,
  WEBHOOK_SECRET_KEYS: keyList,
  DATABASE_URL: (v) => {
    try { return [decodeURIComponent(new URL(v).password)].filter(Boolean); } catch { return []; }
  },
  METRICS_BEARER: (v) => [v],
  TEMPORAL_API_KEY: (v) => [v],
};

export const MIN_ADMIN_KEY_LENGTH = 32;
/** A random 32-character key (hex or base64) has well over this many distinct characters; "aaaa..." or "abcabc..." does not. */
const MIN_DISTINCT_CHARACTERS = 10;

export function isPlaceholder(secret: string): boolean {
  return PLACEHOLDER.test(secret);
}

/** Throws a ConfigError naming the first variable whose secret is a placeholder or (ADMIN_API_KEY) too weak. */
export function refuseWeakSecrets(env: Record<string, string | undefined>): void {
  for (const [name, secretsOf] of Object.entries(SECRET_VARIABLES)) {
    const value = env[name];
    if (!value) continue;
    for (const secret of secretsOf(value)) {
      if (isPlaceholder(secret)) {
        throw new ConfigError(`${name} still holds a placeholder value ("${secret.slice(0, 12)}..."): production refuses example secrets; generate real ones with sh deploy/generate-env.sh.`);
      }
    }
  }
  for (const key of SECRET_VARIABLES.ADMIN_API_KEY(env.ADMIN_API_KEY ?? '')) {
    if (key.length < MIN_ADMIN_KEY_LENGTH || new Set(key).size < MIN_DISTINCT_CHARACTERS) {
      throw new ConfigError(`ADMIN_API_KEY: in production each key must be at least ${MIN_ADMIN_KEY_LENGTH} random characters; make one with: od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'.`);
    }
  }
}
