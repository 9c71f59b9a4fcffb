/** Paths that carry a credential (order-link tokens) are written to logs with the token replaced. */
const TOKEN_PATHS = /^(\/v1\/order-links\/|\/p\/)[^/]+/;

export const redactPath = (path: string): string => path.replace(TOKEN_PATHS, '$1[token]');
