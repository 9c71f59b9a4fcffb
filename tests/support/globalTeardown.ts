export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>).__gongjianServices as
    | { temporal: { stop(): Promise<void> }; postgres: { stop(): Promise<void> } | null }
    | undefined;
  if (!services) return;
  await services.postgres?.stop();
  await services.temporal.stop();
}
