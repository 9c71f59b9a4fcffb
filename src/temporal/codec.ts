/**
 * The PayloadCodec that keeps residents' names, phones, ID numbers and addresses out of
 * Temporal in clear: every payload the client and the workers send is sealed with
 * AES-256-GCM; the key id travels in the payload metadata, so keys can rotate (the first
 * key encrypts, every configured key decrypts).
 *
 * Wire format of `data`: 12-byte IV | ciphertext | 16-byte GCM tag, over the serialized
 * original Payload (its metadata included, so the original encoding is sealed too).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError, type PayloadKey } from '../config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = temporal.api.common.v1.Payload;

/** A payload that cannot be opened: unknown key id (dropped too early in a rotation) or tampered bytes. */
export class PayloadDecryptionError extends Error {}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: PayloadKey;
  private readonly byId: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly PayloadKey[]) {
    if (keys.length === 0) throw new Error('AesGcmPayloadCodec needs at least one key');
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Key ids this codec can open, current first (for start-up messages; never the keys). */
  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.open(payload));
  }

  private seal(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const plain = ProtoPayload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: utf8(this.current.id) },
      data: sealed,
    };
  }

  private open(payload: Payload): Payload {
    // Payloads written before encryption was switched on stay readable.
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
    const key = keyId === undefined ? undefined : this.byId.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(`payload encrypted with key "${keyId ?? '(none)'}", which is not in PAYLOAD_ENCRYPTION_KEYS`);
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return ProtoPayload.decode(plain);
    } catch {
      throw new PayloadDecryptionError(`payload under key "${keyId}" failed authentication (tampered, or another key with the same id)`);
    }
  }
}

/** The codec for this process; the API and every worker must share PAYLOAD_ENCRYPTION_KEYS. */
export function payloadCodecFor(config: { payloadEncryptionKeys: readonly PayloadKey[] }): AesGcmPayloadCodec {
  if (config.payloadEncryptionKeys.length === 0) {
    throw new ConfigError(
      'PAYLOAD_ENCRYPTION_KEYS is not set: the API and the workers must share it to encrypt case data in Temporal; ' +
      'set it to keyId:base64-of-32-random-bytes (e.g. k1:$(head -c 32 /dev/urandom | base64)), or use `npm start`, which keeps a development key in DATA_DIR.',
    );
  }
  return new AesGcmPayloadCodec(config.payloadEncryptionKeys);
}
