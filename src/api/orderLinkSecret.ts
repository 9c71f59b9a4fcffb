/**
 * The key order-link tokens are made with, shared by the API and the workers: derived from the
 * current payload encryption key (configured everywhere both run), so no extra secret to
 * distribute. Rotating that key changes the links shown from then on; links already handed
 * out keep working, since a token is looked up by its hash.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config';

let processFallback: Buffer | null = null;

export function orderLinkSecret(config: Pick<Config, 'payloadEncryptionKeys'>): Buffer {
  const material = config.payloadEncryptionKeys[0]?.key;
  if (!material) return (processFallback ??= randomBytes(32));
  return Buffer.from(hkdfSync('sha256', material, 'gongjian', 'order-link-v1', 32));
}

export function publicBaseUrl(config: Pick<Config, 'PUBLIC_BASE_URL' | 'HOST' | 'PORT'>, actualPort?: number): string {
  return config.PUBLIC_BASE_URL ?? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${actualPort ?? config.PORT}`;
}

export const orderLinkUrl = (base: string, token: string) => `${base}/p/${token}`;
