/**
 * Text that Postgres can store: well-formed Unicode (no lone UTF-16 surrogate, such as half
 * an emoji cut by a client) and no U+0000. jsonb refuses both, so text that reaches a case
 * must be checked at the door, not found by a read-model write that can never succeed.
 */

// With the `u` flag a surrogate pair is one code point, so only an unpaired half matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && isWellFormedText(text);
}
