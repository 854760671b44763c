/**
 * Hears every state change the lifecycle makes (its `onState`) and turns it into the three things
 * an operator reads: one JSON log line per change, the spawn metrics, and each agent's last
 * failure for the admin API. Holds only the passing states and `failed`, like the lifecycle.
 */
import type { Log } from '../log.ts';
import type { AgentStateCounts, Metrics } from '../metrics.ts';
import type { AgentState } from './lifecycle.ts';
import type { RouteTable } from './route-table.ts';

export type Failure = { reason: string; message: string; at: string };

const SPAWNING = new Set(['queued', 'creating', 'starting', 'waiting_for_health']);

export class AgentObserver {
  private readonly current = new Map<string, AgentState>();
  private readonly spawnBegan = new Map<string, number>();
  private readonly failures = new Map<string, Failure>();

  constructor(
    private readonly log: Log,
    private readonly metrics?: Metrics,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The lifecycle's `onState`. */
  readonly observe = (userId: string, state: AgentState): void => {
    const previous = this.current.get(userId)?.state;
    // A queued start hears each move up the queue; the log needs only the first.
    if (previous !== state.state) {
      const failed = state.state === 'failed';
      this.log({
        level: failed ? 'warn' : 'info',
        msg: 'agent state',
        userId,
        state: state.state,
        ...(failed ? { reason: state.reason, error: state.message } : {}),
      });
    }
    const now = this.clock();
    if (SPAWNING.has(state.state)) {
      if (!this.spawnBegan.has(userId)) this.spawnBegan.set(userId, now);
      this.current.set(userId, state);
    } else if (state.state === 'running') {
      const began = this.spawnBegan.get(userId);
      if (began !== undefined) this.metrics?.spawnSeconds.observe((now - began) / 1_000);
      this.spawnBegan.delete(userId);
      this.current.delete(userId);
    } else if (state.state === 'failed') {
      this.spawnBegan.delete(userId);
      this.current.set(userId, state);
      this.failures.set(userId, { reason: state.reason, message: state.message, at: new Date(now).toISOString() });
      this.metrics?.spawnFailures.inc({ reason: state.reason });
    } else if (state.state === 'stopping') {
      this.current.set(userId, state);
    } else {
      this.spawnBegan.delete(userId);
      this.current.delete(userId);
    }
  };

  /** The state held in memory, when the agent is starting, stopping or failed. */
  stateOf(userId: string): AgentState | undefined {
    return this.current.get(userId);
  }

  lastFailure(userId: string): Failure | undefined {
    return this.failures.get(userId);
  }

  /** Agents by state as the gauges report them: `running` are the routes not passing through another state. */
  counts(routes: RouteTable): AgentStateCounts {
    const counts: AgentStateCounts = { running: 0 };
    for (const state of this.current.values()) counts[state.state] = (counts[state.state] ?? 0) + 1;
    for (const agent of routes.agents()) {
      const held = this.current.get(agent.userId)?.state;
      if (held === undefined || held === 'failed') counts.running = (counts.running ?? 0) + 1;
    }
    return counts;
  }
}
