/** Reads the caller's user from X-User-Email and turns it into an AgentIdentity. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { emailSchema, identityFor } from '../identity.ts';

export const identity = () =>
  createMiddleware<Env>(async function identity(c, next) {
    const email = emailSchema.safeParse(c.req.header('x-user-email'));
    if (!email.success) {
      throw new GatewayError(400, 'invalid_identity', 'X-User-Email must be an email address of at most 254 characters.');
    }
    c.set('identity', identityFor(email.data));
    await next();
  });
