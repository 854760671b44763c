/** Makes sure the caller's agent runs and is healthy, and puts its address in `c.var.agent`. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import type { AgentIdentity } from '../identity.ts';
import { waitUntilHealthy } from '../readiness.ts';
import type { RouteTable } from '../runtime/route-table.ts';
import { SingleFlight } from '../runtime/single-flight.ts';
import { AgentStartError, type AgentRuntime, type RunningAgent } from '../runtime/types.ts';

export type EnsureAgentOptions = {
  runtime: AgentRuntime;
  routes: RouteTable;
  /** How long a request waits for a new agent's `/health` to answer. */
  startTimeoutMs?: number;
  /** Seconds a client is told to wait before retrying when an agent cannot be started. */
  retryAfterSeconds?: number;
  fetch?: typeof fetch;
};

export const ensureAgent = ({ runtime, routes, startTimeoutMs = 60_000, retryAfterSeconds = 5, fetch: fetchImpl = fetch }: EnsureAgentOptions) => {
  const starts = new SingleFlight<RunningAgent>();

  async function start(identity: AgentIdentity): Promise<RunningAgent> {
    let agent: RunningAgent;
    try {
      agent = await runtime.ensure(identity);
    } catch (err) {
      if (!(err instanceof AgentStartError)) throw err;
      throw new GatewayError(503, err.reason, err.message, { 'Retry-After': String(retryAfterSeconds) });
    }
    await waitUntilHealthy(agent.url, { timeoutMs: startTimeoutMs, fetch: fetchImpl });
    routes.set(agent);
    return agent;
  }

  return createMiddleware<Env>(async function ensureAgent(c, next) {
    const { identity } = c.var;
    // The hot path: a known running agent costs no call to the runtime.
    const agent = routes.get(identity.id) ?? (await starts.run(identity.id, () => start(identity)));
    c.set('agent', agent);
    await next();
  });
};
