/** What every page gets: who is logged in, and how to show a message or go elsewhere. */
export interface Me {
  user: { id: string; username: string; displayName: string; escalationLevel?: number | null } | null;
  role: 'admin' | 'supervisor' | 'staff' | 'partner';
  partnerId: string | null;
  communities: string[] | null;
  csrfToken: string | null;
}

export interface Ctx {
  me: Me;
  notice(kind: 'error' | 'ok', message: string, fields?: { path: string; message: string }[]): HTMLElement;
  go(hash: string): void;
}
