/** Makes sure the caller's agent runs and is healthy, and puts its address in `c.var.agent`. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import type { Lifecycle } from '../agents/lifecycle.ts';

export const ensureAgent = (lifecycle: Lifecycle) =>
  createMiddleware<Env>(async function ensureAgent(c, next) {
    // The hot path (an agent seen healthy since it last started) costs no call to anyone; anything
    // else waits for a stop in progress, a place in the spawn queue and the start (agents/lifecycle.ts).
    c.set('agent', await lifecycle.ensure(c.var.identity));
    await next();
  });
