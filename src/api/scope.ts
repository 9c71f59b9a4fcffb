/** Helpers shared by the supervisor list endpoints: community scope and cursor errors. */
import { inCommunityScope, type Principal } from './auth';
import { badRequest, forbidden } from './problem';

/**
 * The communities a request may see: the key's own (null = all). An explicit `community`
 * filter outside the key's scope is a 403, not a silently empty page.
 */
export function communityScope(principal: Principal, community: string | undefined): string[] | null {
  if (community !== undefined && !inCommunityScope(principal, community)) {
    throw forbidden(`community ${community} is outside the communities of your key`);
  }
  return principal.communities;
}

export const invalidCursor = () => badRequest('invalid cursor', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
