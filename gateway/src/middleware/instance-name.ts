/** Names the caller's agent for this GATEWAY_INSTANCE, so two stacks on one engine never share a container. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { DEFAULT_INSTANCE, identityFor, type AgentIdentity } from '../identity.ts';

/** After the identity step: the default instance keeps today's `agent-<id>` names, so no agent is orphaned. */
export const instanceName = (instance: string) => {
  if (instance === DEFAULT_INSTANCE) return createMiddleware<Env>(async (_c, next) => next());
  /**
   * The identity steps hand out one frozen identity per user (middleware/identity.ts), so the renamed
   * one is kept beside it rather than hashed again on every request; it goes when that one does.
   */
  const named = new WeakMap<AgentIdentity, AgentIdentity>();
  return createMiddleware<Env>(async function instanceName(c, next) {
    const base = c.get('identity');
    let found = named.get(base);
    if (!found) {
      found = Object.freeze(identityFor(base.email, instance));
      named.set(base, found);
    }
    c.set('identity', found);
    await next();
  });
};
