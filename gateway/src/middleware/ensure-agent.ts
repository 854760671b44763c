/** Makes sure the caller's agent runs and is healthy, and puts its address in `c.var.agent`. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import type { AgentIdentity } from '../identity.ts';
import type { Log } from '../log.ts';
import { waitUntilHealthy } from '../agents/readiness.ts';
import type { RouteTable } from '../agents/route-table.ts';
import { SingleFlight } from '../agents/single-flight.ts';
import { StartBackoff } from '../agents/start-backoff.ts';
import { AgentStartError, type AgentExit, type AgentRuntime, type RunningAgent } from '../runtime/types.ts';

export type EnsureAgentOptions = {
  runtime: AgentRuntime;
  routes: RouteTable;
  /** How long a request waits for a new agent's `/health` to answer. */
  startTimeoutMs: number;
  /** Seconds a client is told to wait before retrying when an agent cannot be started. */
  retryAfterSeconds?: number;
  fetch?: typeof fetch;
  log?: Log;
  backoff?: StartBackoff;
};

/** Words of a line that says what went wrong, rather than a hint or a banner printed after it. */
const ERROR_LINE = /\b(error|exception|fatal|panic|denied|failed|cannot|can't|unable|missing|not found|no such)\b/i;

/** The short reason given to the caller: the exit code and the agent's last error line (else its last line). */
export function exitReason(exit: AgentExit): string {
  const last = exit.lines.findLast((line) => ERROR_LINE.test(line)) ?? exit.lines.at(-1);
  return `exited with code ${exit.exitCode}${last ? `: ${last}` : ''}`;
}

const agentExited = (reason: string, retryAfterMs: number) =>
  new GatewayError(503, 'agent_exited', `The agent could not start (${reason}).`, { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) });

export const ensureAgent = ({
  runtime,
  routes,
  startTimeoutMs,
  retryAfterSeconds = 5,
  fetch: fetchImpl = fetch,
  log = () => {},
  backoff = new StartBackoff(),
}: EnsureAgentOptions) => {
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
    return whenHealthy(agent, identity);
  }

  /** Waits for `/health`, unless the container exits first: then the caller learns why within a poll. */
  async function whenHealthy(agent: RunningAgent, identity: AgentIdentity): Promise<RunningAgent> {
    const watching = new AbortController();
    try {
      const outcome = await Promise.race([
        waitUntilHealthy(agent.url, { timeoutMs: startTimeoutMs, fetch: fetchImpl }).then(() => undefined),
        // An engine that cannot be asked leaves the health poll and its timeout in charge.
        runtime.watchExit(agent.instanceId, watching.signal).catch(() => new Promise<never>(() => {})),
      ]);
      if (outcome) await exited(agent, identity, outcome);
    } finally {
      watching.abort();
    }
    routes.setHealthy(agent);
    backoff.succeeded(identity.id);
    return agent;
  }

  async function exited(agent: RunningAgent, identity: AgentIdentity, exit: AgentExit): Promise<never> {
    routes.delete(agent.userId, agent.instanceId);
    const reason = exitReason(exit);
    const retryAfterMs = backoff.fail(identity.id, await runtime.revision(), reason);
    log({ level: 'error', msg: 'agent exited before it was healthy', userId: identity.id, exitCode: exit.exitCode, output: exit.lines, retryAfterMs });
    throw agentExited(reason, retryAfterMs);
  }

  /** A user whose agent keeps exiting waits out the back-off, unless the image or config changed meanwhile. */
  async function checkBackoff(identity: AgentIdentity): Promise<void> {
    if (!backoff.has(identity.id)) return;
    const backedOff = backoff.check(identity.id, await runtime.revision());
    if (backedOff) throw agentExited(backedOff.reason, backedOff.retryAfterMs);
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
      : await starts.run(identity.id, async () => {
        await checkBackoff(identity);
        return known ? whenHealthy(known, identity) : start(identity);
      });
    c.set('agent', agent);
    await next();
  });
};
