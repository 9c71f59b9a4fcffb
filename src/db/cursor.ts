/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, fields: readonly K[]): Record<K, string> | null | 'invalid' {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (fields.every((f) => typeof parsed[f] === 'string')) return parsed as Record<K, string>;
  } catch {
    // fall through
  }
  return 'invalid';
}
