/** Reads the caller's user from X-User-Email and turns it into an AgentIdentity. */
import { zValidator } from '@hono/zod-validator';
import { createMiddleware } from 'hono/factory';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { emailSchema, identityFor } from '../identity.ts';

const headerSchema = z.object({ 'x-user-email': emailSchema });

// Typed for any env by the validator; it only reads headers, so our Env fits.
const emailHeader = zValidator('header', headerSchema, (result) => {
  if (!result.success) {
    throw new GatewayError(400, 'invalid_identity', 'X-User-Email must be an email address of at most 254 characters.');
  }
}) as unknown as MiddlewareHandler<Env>;

export const identity = () =>
  createMiddleware<Env>(async function identity(c, next) {
    await emailHeader(c, async () => {
      const { 'x-user-email': email } = c.req.valid('header' as never) as z.output<typeof headerSchema>;
      c.set('identity', identityFor(email));
      await next();
    });
  });
