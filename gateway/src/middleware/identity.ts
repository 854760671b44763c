/** Reads the caller's user from X-User-Email and turns it into an AgentIdentity. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { emailSchema, identityFor, type AgentIdentity } from '../identity.ts';

/** Enough for every active user of a large deployment; past it the oldest entry makes room. */
const MAX_CACHED = 10_000;

/**
 * X-User-Email exactly as received -> its identity. Validating and hashing the same address on every
 * request was a measurable share of the hot path; the result depends on the header alone, so the
 * cache answers exactly what zod would. Only valid addresses are kept.
 */
const known = new Map<string, AgentIdentity>();

export function identityOf(header: string | null): AgentIdentity | undefined {
  if (header === null) return undefined;
  const cached = known.get(header);
  if (cached) return cached;
  const email = emailSchema.safeParse(header);
  if (!email.success) return undefined;
  // Shared by every request of this user, so nobody may change it.
  const found = Object.freeze(identityFor(email.data));
  if (known.size >= MAX_CACHED) known.delete(known.keys().next().value!);
  known.set(header, found);
  return found;
}

export const identity = () =>
  createMiddleware<Env>(async function identity(c, next) {
    const found = identityOf(c.req.raw.headers.get('x-user-email'));
    if (!found) throw new GatewayError(400, 'invalid_identity', 'X-User-Email must be an email address of at most 254 characters.');
    c.set('identity', found);
    await next();
  });
