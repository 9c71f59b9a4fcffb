/**
 * A cap on how deeply a JSON body nests, checked on the raw bytes before JSON.parse.
 *
 * JSON.parse itself copes with 150,000 levels, but everything after it walks the value
 * recursively (the text checks, zod, JSON.stringify into Temporal) and runs out of stack:
 * a 500 from a body well under 1 MB. No body of this API needs more than a few levels.
 */
import { HttpProblem } from './problem';

export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b, OPEN_ARRAY = 0x5b, CLOSE_OBJECT = 0x7d, CLOSE_ARRAY = 0x5d, QUOTE = 0x22, BACKSLASH = 0x5c;

/**
 * The deepest nesting of objects and arrays in JSON text (UTF-8 bytes, or a decoded string),
 * stopping once past `limit`. Strings are skipped. UTF-8 is safe to scan byte by byte: the
 * bytes of a multi-byte character are all above 0x7f.
 */
export function jsonDepth(text: Uint8Array | string, limit = Infinity): number {
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i];
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const b = at(i);
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      depth--;
    }
  }
  return deepest;
}

/** For express.json's `verify` hook: refuse a body nested deeper than MAX_JSON_DEPTH with a 400. */
export function refuseDeepJson(_req: unknown, _res: unknown, body: Buffer, encoding: string): void {
  // body-parser also takes UTF-16 JSON; its code units must be decoded before they are scanned.
  let text: Uint8Array | string = body;
  if (!/^utf-?8$/i.test(encoding)) {
    try {
      text = new TextDecoder(encoding).decode(body);
    } catch {
      throw new HttpProblem(415, 'Unsupported media type', `the charset ${encoding} is not supported; send UTF-8`);
    }
  }
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new HttpProblem(400, 'Invalid request', `the body nests deeper than ${MAX_JSON_DEPTH} levels`,
      { errors: [{ path: 'body', message: `must not nest objects and arrays deeper than ${MAX_JSON_DEPTH} levels` }] });
  }
}
