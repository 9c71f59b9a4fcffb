/**
 * Development only: with no PAYLOAD_ENCRYPTION_KEYS, `npm start` generates a payload key
 * once and keeps it in DATA_DIR (mode 600, like the admin key), so the histories in the dev
 * server's SQLite file stay readable across restarts. Production refuses to start without
 * the variable (see config.ts).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PayloadKey, parsePayloadKeys } from '../config';

export const DEV_PAYLOAD_KEYS_FILE = 'payload-encryption-keys';
/** The same for WEBHOOK_SECRET_KEYS, which seal partners' webhook secrets in Postgres. */
export const DEV_WEBHOOK_SECRET_KEYS_FILE = 'webhook-secret-keys';

export function devPayloadKeys(dataDir: string, name = DEV_PAYLOAD_KEYS_FILE, variable = 'PAYLOAD_ENCRYPTION_KEYS'): { keys: PayloadKey[]; file: string } {
  const file = join(dataDir, name);
  if (!existsSync(file)) {
    writeFileSync(file, `dev1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  }
  // Tighten a file copied around with looser permissions.
  chmodSync(file, 0o600);
  return { keys: parsePayloadKeys(readFileSync(file, 'utf8').trim(), variable), file };
}

export const devWebhookSecretKeys = (dataDir: string) => devPayloadKeys(dataDir, DEV_WEBHOOK_SECRET_KEYS_FILE, 'WEBHOOK_SECRET_KEYS');
