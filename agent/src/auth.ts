import { bearerAuth } from 'hono/bearer-auth';

const unauthorized = (error: string) => () => Response.json({ error, code: 'unauthorized' }, { status: 401 });

/**
 * Requires `Authorization: Bearer <token>` (hono compares in constant time). Every failure is a 401 in
 * the agent's error shape; hono would answer a malformed header with 400, but a caller can only fix
 * any of them the same way, by sending the token.
 */
export const requireToken = (token: string) =>
  bearerAuth({
    token,
    noAuthenticationHeader: { message: unauthorized('missing bearer token') },
    invalidAuthenticationHeader: { message: unauthorized('malformed Authorization header: send Bearer <token>') },
    invalidToken: { message: unauthorized('invalid bearer token') },
  });
