/**
 * Agents that missed an answer deadline. A hung (or paused) agent would otherwise cost its student the
 * whole upstream timeout on every request; instead the next request first asks the agent's `/health`
 * with a short timeout, and answers 504 `agent_unresponsive` at once when that fails too.
 */
import { GatewayError } from '../errors.ts';
import type { RunningAgent } from '../runtime/types.ts';

export type UnresponsiveOptions = {
  /** How long the re-check waits for `/health` (HEALTH_RECHECK_TIMEOUT). */
  recheckMs: number;
  fetch?: typeof fetch;
};

export class UnresponsiveAgents {
  /**
   * Keyed by the route entry, so an agent that is restarted or replaced (a new entry) starts clean,
   * and a forgotten one takes its mark with it. The value is the re-check in flight, shared by every
   * request that arrives meanwhile.
   */
  private readonly marked = new WeakMap<RunningAgent, Promise<boolean> | undefined>();
  private readonly recheckMs: number;
  private readonly fetch: typeof fetch;

  constructor({ recheckMs, fetch: fetchImpl = fetch }: UnresponsiveOptions) {
    this.recheckMs = recheckMs;
    this.fetch = fetchImpl;
  }

  mark(agent: RunningAgent): void {
    if (!this.marked.has(agent)) this.marked.set(agent, undefined);
  }

  has(agent: RunningAgent): boolean {
    return this.marked.has(agent);
  }

  /** Resolves once a marked agent answers `/health` again (and clears its mark); throws 504 otherwise. */
  async recheck(agent: RunningAgent): Promise<void> {
    let probe = this.marked.get(agent);
    if (probe === undefined) {
      probe = this.probe(agent);
      this.marked.set(agent, probe);
    }
    const healthy = await probe;
    if (healthy) {
      this.marked.delete(agent);
      return;
    }
    // The next request asks again rather than inheriting this failure forever.
    if (this.marked.get(agent) === probe) this.marked.set(agent, undefined);
    throw new GatewayError(504, 'agent_unresponsive', `The agent did not answer its health check within ${this.recheckMs} ms after missing a deadline.`);
  }

  private async probe(agent: RunningAgent): Promise<boolean> {
    try {
      const res = await this.fetch(`${agent.url}/health`, { signal: AbortSignal.timeout(this.recheckMs) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}
