/** Only the web app, holding GATEWAY_TOKEN, may use the gateway. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

export type AuthOptions = {
  /** The expected bearer token; undefined turns the check off (GATEWAY_ALLOW_NO_TOKEN=1). */
  token: string | undefined;
};

/** Digests have equal length, so the comparison takes the same time whatever the caller sent. */
const digest = (value: string) => createHash('sha256').update(value).digest();

export const auth = ({ token }: AuthOptions) => {
  const expected = token === undefined ? undefined : digest(token);
  return createMiddleware<Env>(async function auth(c, next) {
    if (expected) {
      const presented = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        throw new GatewayError(401, 'unauthorized', 'A valid gateway bearer token is required.', { 'WWW-Authenticate': 'Bearer' });
      }
    }
    await next();
  });
};
