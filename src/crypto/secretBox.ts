/**
 * Partners' webhook secrets at rest: AES-256-GCM under WEBHOOK_SECRET_KEYS, a key list of its
 * own (not the payload keys: whoever may read Temporal payloads need not be able to sign as
 * us). The first key seals, every key opens, so keys rotate like the payload keys.
 *
 * Sealed form: `v1.<keyId>.<base64url iv|ciphertext|tag>`. The partner id is the associated
 * data, so a sealed secret copied onto another partner's row does not open there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type Config, ConfigError, type PayloadKey } from '../config';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretUnsealError extends Error {}

export class WebhookSecretBox {
  private readonly current: PayloadKey;
  private readonly byId: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly PayloadKey[]) {
    if (keys.length === 0) throw new Error('WebhookSecretBox needs at least one key');
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  seal(partnerId: string, secret: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(`partner:${partnerId}`));
    const sealed = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.current.id}.${sealed.toString('base64url')}`;
  }

  open(partnerId: string, sealed: string): string {
    const [version, keyId, data] = sealed.split('.');
    const key = keyId ? this.byId.get(keyId) : undefined;
    if (version !== 'v1' || !data) throw new SecretUnsealError('not a sealed webhook secret');
    if (!key) throw new SecretUnsealError(`webhook secret sealed with key "${keyId}", which is not in WEBHOOK_SECRET_KEYS`);
    const bytes = Buffer.from(data, 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretUnsealError('sealed webhook secret is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`partner:${partnerId}`));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnsealError(`webhook secret of partner ${partnerId} failed authentication under key "${keyId}"`);
    }
  }

  /** Whether a sealed value is under an older key (rewrapped at start-up, so the old key can be dropped). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`v1.${this.current.id}.`);
  }
}

/** The box of a process; a clear ConfigError when WEBHOOK_SECRET_KEYS is not set. */
export function webhookSecretBoxFor(config: Pick<Config, 'webhookSecretKeys'>): WebhookSecretBox {
  if (config.webhookSecretKeys.length === 0) {
    throw new ConfigError('WEBHOOK_SECRET_KEYS is not set: partners\' webhook secrets are stored encrypted with it; set it to keyId:base64-of-32-random-bytes, e.g. w1:$(head -c 32 /dev/urandom | base64) (`npm start` generates one for development).');
  }
  return new WebhookSecretBox(config.webhookSecretKeys);
}
