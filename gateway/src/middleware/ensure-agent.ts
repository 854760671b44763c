/** Makes sure the caller's agent runs and is healthy, and puts its address in `c.var.agent`. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import type { AgentIdentity } from '../identity.ts';
import { waitUntilHealthy } from '../agents/readiness.ts';
import type { RouteTable } from '../agents/route-table.ts';
import { SingleFlight } from '../agents/single-flight.ts';
import { AgentStartError, type AgentRuntime, type RunningAgent } from '../runtime/types.ts';

export type EnsureAgentOptions = {
  runtime: AgentRuntime;
  routes: RouteTable;
  /** How long a request waits for a new agent's `/health` to answer. */
  startTimeoutMs: number;
  /** Seconds a client is told to wait before retrying when an agent cannot be started. */
  retryAfterSeconds?: number;
  fetch?: typeof fetch;
};

export const ensureAgent = ({ runtime, routes, startTimeoutMs, retryAfterSeconds = 5, fetch: fetchImpl = fetch }: EnsureAgentOptions) => {
  const starts = new SingleFlight<RunningAgent>();

  async function start(identity: AgentIdentity): Promise<RunningAgent> {
    let agent: RunningAgent;
    try {
      agent = await runtime.ensure(identity);
    } catch (err) {
      if (!(err instanceof AgentStartError)) throw err;
      throw new GatewayError(503, err.reason, err.message, { 'Retry-After': String(retryAfterSeconds) });
    }
    // Known before it is healthy, so its start event costs no lookup.
    routes.set(agent);
    return whenHealthy(agent);
  }

  async function whenHealthy(agent: RunningAgent): Promise<RunningAgent> {
    await waitUntilHealthy(agent.url, { timeoutMs: startTimeoutMs, fetch: fetchImpl });
    routes.setHealthy(agent);
    return agent;
  }

  return createMiddleware<Env>(async function ensureAgent(c, next) {
    // c.get, not c.var: Hono builds a fresh object of all variables on every c.var access.
    const identity = c.get('identity');
    const known = routes.get(identity.id);
    // The hot path: an agent seen healthy since it last started costs no call to anyone. One that
    // only the events stream or the adoption scan knows about may still be booting (a restart by
    // Docker, a start by another request): it is held like a new agent, and shares that start.
    const agent = known && routes.isHealthy(identity.id)
      ? known
      : await starts.run(identity.id, () => (known ? whenHealthy(known) : start(identity)));
    c.set('agent', agent);
    await next();
  });
};
