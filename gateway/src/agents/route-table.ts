/** Where each running agent listens, kept current from the runtime so the hot path asks nobody. */
import type { Log } from '../log.ts';
import { logEngineEvent } from './engine-log.ts';
import { Pauses } from './pauses.ts';
import type { AgentRuntime, RunningAgent } from '../runtime/types.ts';

const RECONNECT_DELAY_MS = 1_000;

export class RouteTable {
  private readonly routes = new Map<string, RunningAgent>();
  /**
   * Instances whose `/health` answered since they last started. A route learnt from a start event or
   * an adoption scan may still be booting, so it is checked once before the first request goes to it.
   */
  private readonly healthy = new Set<string>();
  /** Agents the platform froze, from the same events and scans as the routes. */
  readonly pauses = new Pauses();

  get(userId: string): RunningAgent | undefined {
    return this.routes.get(userId);
  }

  /** Records where an agent runs, not yet known to be healthy. */
  set(agent: RunningAgent): void {
    this.routes.set(agent.userId, agent);
  }

  /** Records an agent that has just answered its health check. */
  setHealthy(agent: RunningAgent): void {
    this.set(agent);
    this.healthy.add(agent.instanceId);
  }

  isHealthy(userId: string): boolean {
    const known = this.routes.get(userId);
    return known !== undefined && this.healthy.has(known.instanceId);
  }

  /** Forgets a route, but only the one for this instance if given (a newer one may have replaced it). */
  delete(userId: string, instanceId?: string): void {
    const known = this.routes.get(userId);
    if (known && (instanceId === undefined || known.instanceId === instanceId)) {
      this.routes.delete(userId);
      this.healthy.delete(known.instanceId);
    }
  }

  /** Every agent with a route, healthy or not. */
  agents(): IterableIterator<RunningAgent> {
    return this.routes.values();
  }

  get size(): number {
    return this.routes.size;
  }

  /**
   * Records every agent that is running now and made from the current image, and forgets routes known
   * before the scan whose agent no longer runs (it stopped while the events stream was down, e.g. with
   * a restarted Docker Engine), so their next request starts them instead of failing once with a 502.
   */
  async adopt(runtime: AgentRuntime): Promise<number> {
    const before = [...this.routes.values()];
    const listed = await runtime.list();
    const running = new Set(listed.filter((agent) => agent.running || agent.paused).map((agent) => agent.instanceId));
    for (const known of before) {
      if (running.has(known.instanceId)) continue;
      this.pauses.forget(known.instanceId);
      this.delete(known.userId, known.instanceId);
    }
    let adopted = 0;
    for (const agent of listed) {
      if (agent.url === undefined || agent.outdated) continue;
      this.set({ userId: agent.userId, instanceId: agent.instanceId, url: agent.url });
      if (agent.paused) this.pauses.pause(agent.instanceId);
      else this.pauses.resume(agent.instanceId);
      adopted += 1;
    }
    return adopted;
  }

  /**
   * Adopts running agents, then follows the runtime's events until the signal aborts.
   * When the stream breaks it reconnects and adopts again, so nothing missed in between stays stale.
   * `onAdopted` is called after each successful adoption scan.
   */
  async follow(runtime: AgentRuntime, signal: AbortSignal, log: Log = () => {}, onAdopted: () => void = () => {}): Promise<void> {
    while (!signal.aborted) {
      try {
        const adopted = await this.adopt(runtime);
        log({ level: 'info', msg: 'adopted running agents', count: adopted });
        onAdopted();
        for await (const event of runtime.events(signal)) {
          logEngineEvent(log, event);
          if (event.type === 'paused') this.pauses.pause(event.instanceId);
          if (event.type === 'unpaused') this.pauses.resume(event.instanceId);
          if (event.type === 'gone') {
            this.pauses.forget(event.instanceId);
            this.delete(event.userId, event.instanceId);
          }
          if (event.type !== 'started') continue;
          // An agent this gateway has just started is already here; only others need looking up.
          if (this.get(event.userId)?.instanceId === event.instanceId) continue;
          const agent = await runtime.locate(event.instanceId);
          if (agent) this.set(agent);
        }
      } catch (err) {
        if (signal.aborted) return;
        log({ level: 'warn', msg: 'agent events stream failed; reconnecting', error: String(err) });
      }
      // A stream that ended because following stopped needs no reconnect (nor a second's wait).
      if (!signal.aborted) await Bun.sleep(RECONNECT_DELAY_MS);
    }
  }
}
