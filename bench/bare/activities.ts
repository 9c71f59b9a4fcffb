/** The bare baseline's activities: they do nothing but tell the driver when the "partner" was notified. */
export function createBareActivities(onNotified: (caseId: string, partnerId: string) => void) {
  return {
    async record(_caseId: string, _event: string): Promise<void> {},
    async select(caseId: string): Promise<string> {
      return `partner-of-${caseId.slice(0, 4)}`;
    },
    async webhook(caseId: string, partnerId: string): Promise<void> {
      onNotified(caseId, partnerId);
    },
  };
}

export type BareActivities = ReturnType<typeof createBareActivities>;
