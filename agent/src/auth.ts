import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Requires `Authorization: Bearer <token>`; compares digests so the check takes the same time for any guess. */
export const requireToken = (token: string) =>
  createMiddleware(async function requireToken(c, next) {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1] || !timingSafeEqual(digest(match[1].trim()), digest(token))) {
      throw new HTTPException(401, { message: 'missing or invalid bearer token' });
    }
    await next();
  });
