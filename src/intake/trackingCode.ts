/**
 * Tracking codes a resident types from a paper receipt: 12 characters of Crockford's base32
 * (no I, L, O, U: nothing to confuse with 1, 0 or V), 60 random bits, shown in groups of four.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const TRACKING_CODE_LENGTH = 12;

/** Random bytes drawn 4 KB at a time (one call into the CSPRNG per 341 codes, as node's randomUUID does for its UUIDs), each byte used once. */
const pool = Buffer.alloc(4092);
let used = pool.length;

export function newTrackingCode(): string {
  if (used + TRACKING_CODE_LENGTH > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  // 256 is a multiple of 32, so each byte's low five bits are uniform.
  let code = '';
  for (let i = used; i < used + TRACKING_CODE_LENGTH; i++) code += ALPHABET[pool[i] & 31];
  used += TRACKING_CODE_LENGTH;
  return code;
}

/** `ABCD-EFGH-JKMN` for reading aloud and printing. */
export const groupedCode = (code: string) => code.match(/.{1,4}/g)!.join('-');

/**
 * The canonical code of what a resident typed, or null when it cannot be one. Case, spaces and
 * dashes do not matter, and the letters Crockford maps (I, L -> 1; O -> 0) are read as digits.
 */
export function normaliseTrackingCode(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 40) return null;
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (s.length !== TRACKING_CODE_LENGTH) return null;
  for (const ch of s) if (!ALPHABET.includes(ch)) return null;
  return s;
}
