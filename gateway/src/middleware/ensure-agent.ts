/** Makes sure the caller's agent runs and is healthy, and puts its address in `c.var.agent`. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import type { Lifecycle } from '../agents/lifecycle.ts';

/** A wait shorter than this is the hot path (an agent already healthy), not a start worth logging. */
const START_LOG_THRESHOLD_MS = 5;

export const ensureAgent = (lifecycle: Lifecycle) =>
  createMiddleware<Env>(async function ensureAgent(c, next) {
    // The hot path (an agent seen healthy since it last started) costs no call to anyone; anything
    // else waits for a stop in progress, a place in the spawn queue and the start (agents/lifecycle.ts).
    // c.get, not c.var: Hono builds a fresh object of all variables on every c.var access.
    const from = performance.now();
    c.set('agent', await lifecycle.ensure(c.get('identity')));
    const waited = performance.now() - from;
    if (waited >= START_LOG_THRESHOLD_MS) c.set('agentStartMs', Math.round(waited));
    await next();
  });
