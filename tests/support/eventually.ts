/** Poll until `check` returns a value that passes `accept` (default: truthy); fail with the last value seen. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number; accept?: (v: T) => boolean; what?: string } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50, accept = (v: T) => Boolean(v) } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await check();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
