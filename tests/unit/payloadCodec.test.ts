/** The payload codec: sealed, tamper-evident, rotatable; and the key configuration around it. */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { ConfigError, loadConfig, parsePayloadKeys } from '../../src/config';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID, PayloadDecryptionError, payloadCodecFor } from '../../src/temporal/codec';

const key = (id: string) => ({ id, key: randomBytes(32) });
const resident = { name: '王秀兰', phone: '13912345678', idNumber: '220102194001011234' };
const asText = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

describe('AesGcmPayloadCodec', () => {
  const k1 = key('k1');
  const codec = new AesGcmPayloadCodec([k1]);

  it('seals a payload so none of its content is readable, and opens it back exactly', async () => {
    const original = defaultPayloadConverter.toPayload(resident);
    const [sealed] = await codec.encode([original]);
    expect(asText(sealed.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(asText(sealed.metadata?.[METADATA_KEY_ID])).toBe('k1');
    expect(Object.keys(sealed.metadata ?? {}).sort()).toEqual(['encoding', METADATA_KEY_ID]);
    const bytes = Buffer.from(sealed.data!);
    for (const secret of Object.values(resident)) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    expect(bytes.includes(Buffer.from('json/plain'))).toBe(false);

    const [opened] = await codec.decode([sealed]);
    expect(defaultPayloadConverter.fromPayload(opened)).toEqual(resident);
    expect(asText(opened.metadata?.encoding)).toBe('json/plain');
  });

  it('uses a fresh IV for every payload', async () => {
    const p = defaultPayloadConverter.toPayload(resident);
    const [a, b] = await codec.encode([p, p]);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  it('passes through payloads that were never encrypted (histories from before encryption)', async () => {
    const plain = defaultPayloadConverter.toPayload({ hello: 'world' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('refuses a tampered payload and one under an unknown key id', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(resident)]);
    const flipped = Buffer.from(sealed.data!);
    flipped[20] ^= 1;
    await expect(codec.decode([{ ...sealed, data: flipped }])).rejects.toThrow(PayloadDecryptionError);
    await expect(new AesGcmPayloadCodec([key('k2')]).decode([sealed])).rejects.toThrow(/key "k1".*not in PAYLOAD_ENCRYPTION_KEYS/);
    await expect(codec.decode([{ ...sealed, data: flipped.subarray(0, 10) }])).rejects.toThrow(/truncated/);
  });

  it('rotates: a new first key encrypts, the old one still decrypts', async () => {
    const [old] = await codec.encode([defaultPayloadConverter.toPayload(resident)]);
    const rotated = new AesGcmPayloadCodec([key('k2'), k1]);
    const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload(resident)]);
    expect(asText(fresh.metadata?.[METADATA_KEY_ID])).toBe('k2');
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old]))[0])).toEqual(resident);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([fresh]))[0])).toEqual(resident);
  });
});

describe('PAYLOAD_ENCRYPTION_KEYS', () => {
  const b64 = () => randomBytes(32).toString('base64');

  it('parses keyId:base64 entries, first one first', () => {
    const keys = parsePayloadKeys(`new:${b64()}, old:${b64()}`);
    expect(keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(keys[0].key).toHaveLength(32);
  });

  it.each([
    ['no key id', b64(), /keyId:base64/],
    ['a short key', `k1:${randomBytes(16).toString('base64')}`, /32 random bytes/],
    ['not base64', `k1:${'!'.repeat(44)}`, /32 random bytes/],
    ['a repeated id', `k1:${b64()},k1:${b64()}`, /appears twice/],
  ])('refuses %s with a sentence saying what to set', (_what, value, message) => {
    expect(() => parsePayloadKeys(value)).toThrow(ConfigError);
    expect(() => parsePayloadKeys(value)).toThrow(message);
  });

  it('is required in production, optional in development (npm start generates one)', () => {
    expect(() => loadConfig({ APP_ENV: 'production' })).toThrow(/PAYLOAD_ENCRYPTION_KEYS is not set: production refuses/);
    expect(loadConfig({ APP_ENV: 'production', PAYLOAD_ENCRYPTION_KEYS: `k1:${b64()}`, WEBHOOK_SECRET_KEYS: `w1:${b64()}` }).payloadEncryptionKeys).toHaveLength(1);
    expect(loadConfig({ APP_ENV: 'development' }).payloadEncryptionKeys).toEqual([]);
  });

  it('is needed to build a client or worker codec, whatever the environment', () => {
    expect(() => payloadCodecFor(loadConfig({ APP_ENV: 'development' }))).toThrow(/PAYLOAD_ENCRYPTION_KEYS is not set: the API and the workers must share it/);
  });

  it('TEMPORAL_UI_ORIGIN defaults to the dev UI on both loopback names and must list origins', () => {
    expect(loadConfig({}).temporalUiOrigins).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(loadConfig({ TEMPORAL_UI_PORT: '9000' }).temporalUiOrigins).toEqual(['http://localhost:9000', 'http://127.0.0.1:9000']);
    expect(loadConfig({ TEMPORAL_UI_ORIGIN: 'https://ui.example.org' }).temporalUiOrigins).toEqual(['https://ui.example.org']);
    expect(() => loadConfig({ TEMPORAL_UI_ORIGIN: 'https://ui.example.org/' })).toThrow(/not an origin/);
    expect(() => loadConfig({ TEMPORAL_UI_ORIGIN: '*' })).toThrow(/not an origin/);
  });
});
