/** Names the caller's agent for this GATEWAY_INSTANCE, so two stacks on one engine never share a container. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { DEFAULT_INSTANCE, identityFor } from '../identity.ts';

/** After the identity step: the default instance keeps today's `agent-<id>` names, so no agent is orphaned. */
export const instanceName = (instance: string) =>
  createMiddleware<Env>(async function instanceName(c, next) {
    if (instance !== DEFAULT_INSTANCE) c.set('identity', identityFor(c.var.identity.email, instance));
    await next();
  });
