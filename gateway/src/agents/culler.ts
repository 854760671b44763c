/**
 * Stops agents nobody has used for IDLE_TIMEOUT and removes the containers of stopped agents
 * unused for REMOVE_AFTER (never their data). The decision is a pure function; the loop around
 * it lists the agents, acts through the lifecycle (which leaves busy agents alone) and saves the
 * activity record, so a gateway restart resumes the same clocks.
 */
import type { Log } from '../log.ts';
import type { AgentRuntime, AgentSummary } from '../runtime/types.ts';
import type { LifecycleSettings } from '../settings.ts';
import type { Activity } from './activity.ts';
import type { Lifecycle } from './lifecycle.ts';

export type CullPolicy = Pick<LifecycleSettings, 'idleTimeoutMs' | 'removeAfterMs'>;

export type CullDecision = { stop: AgentSummary[]; remove: AgentSummary[] };

/** Which agents to stop and which containers to remove now; `isIdle` says no request or start is under way. */
export function decideCull(
  agents: readonly AgentSummary[],
  now: number,
  { idleTimeoutMs, removeAfterMs }: CullPolicy,
  lastActive: (userId: string) => number,
  isIdle: (userId: string) => boolean,
): CullDecision {
  const decision: CullDecision = { stop: [], remove: [] };
  for (const agent of agents) {
    if (!isIdle(agent.userId)) continue;
    const unused = now - lastActive(agent.userId);
    if (agent.running && idleTimeoutMs > 0 && unused >= idleTimeoutMs) decision.stop.push(agent);
    if (!agent.running && removeAfterMs > 0 && unused >= removeAfterMs) decision.remove.push(agent);
  }
  return decision;
}

const MAX_SWEEP_INTERVAL_MS = 60_000;
const MIN_SWEEP_INTERVAL_MS = 250;

/** A quarter of the shortest period, so an agent is stopped at most 25 % late, and at least once a minute. */
export function sweepInterval({ idleTimeoutMs, removeAfterMs }: CullPolicy): number {
  const periods = [idleTimeoutMs, removeAfterMs].filter((ms) => ms > 0);
  if (periods.length === 0) return MAX_SWEEP_INTERVAL_MS;
  return Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, Math.min(...periods) / 4));
}

export type CullerOptions = {
  runtime: AgentRuntime;
  lifecycle: Lifecycle;
  activity: Activity;
  policy: CullPolicy;
  /** Where the activity record is kept across restarts. */
  activityFile: string;
  clock?: () => number;
  log?: Log;
  /** Hears each agent the culler stopped or whose container it removed (the culls metric). */
  onCull?: (action: 'stop' | 'remove') => void;
};

export class Culler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: CullerOptions) {}

  /** Sweeps now and then every sweepInterval until `close`. */
  start(): void {
    const again = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.sweep().finally(again), sweepInterval(this.options.policy));
    };
    void this.sweep().finally(again);
  }

  /** One pass; concurrent callers share it. */
  sweep(): Promise<void> {
    this.sweeping ??= this.pass().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Stops sweeping and saves the activity record one last time. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
    await this.save();
  }

  private async pass(): Promise<void> {
    const { runtime, lifecycle, activity, policy, clock = Date.now, log = () => {}, onCull = () => {} } = this.options;
    try {
      if (policy.idleTimeoutMs > 0 || policy.removeAfterMs > 0) {
        const agents = await runtime.list();
        const { stop, remove } = decideCull(agents, clock(), policy, (u) => activity.lastActive(u), (u) => lifecycle.isIdle(u));
        await Promise.all([
          ...stop.map(async (agent) => {
            if (!(await lifecycle.stop(agent.userId, agent.instanceId))) return;
            log({ level: 'info', msg: 'stopped an idle agent', userId: agent.userId });
            onCull('stop');
          }),
          ...remove.map(async (agent) => {
            await runtime.remove(agent.instanceId);
            log({ level: 'info', msg: 'removed a stopped agent’s container', userId: agent.userId });
            onCull('remove');
          }),
        ]);
      }
    } catch (err) {
      log({ level: 'warn', msg: 'culling failed; trying again next sweep', error: String(err) });
    }
    await this.save();
  }

  private async save(): Promise<void> {
    await this.options.activity.save(this.options.activityFile).catch((err: unknown) => {
      this.options.log?.({ level: 'warn', msg: 'saving the activity record failed', error: String(err) });
    });
  }
}
