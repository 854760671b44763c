/**
 * Agents that stopped answering altogether (a deadlock, a process stuck in a system call), found
 * and restarted by the gateway itself, in the manner of a Kubernetes liveness probe or JupyterHub's
 * poll(). The rule:
 *
 * - every agent with a healthy route that is not paused is asked `GET /health` every check
 *   interval (a sixth of HUNG_AGENT_RESTART_AFTER, between 1 s and 30 s), with HEALTH_RECHECK_TIMEOUT;
 * - any HTTP answer, whatever its status, proves the process alive: an agent streaming a long
 *   answer answers its health check, so a busy agent is never hung;
 * - an agent is hung when no check has been answered for HUNG_AGENT_RESTART_AFTER and at least
 *   MIN_FAILED_CHECKS in a row went unanswered (one slow moment on a loaded machine is not enough);
 * - a paused agent is frozen on purpose and is never counted (agents/pauses.ts);
 * - a hung agent is stopped through the lifecycle whatever is in flight (it answers none of it), with
 *   a short grace instead of the drain; its data stays on disk, and the student's next request
 *   starts it again as after culling (the requests arriving during the stop wait for it).
 */
import type { Log } from '../log.ts';
import type { RunningAgent } from '../runtime/types.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { RouteTable } from './route-table.ts';

/** However short HUNG_AGENT_RESTART_AFTER is, this many checks in a row must go unanswered. */
export const MIN_FAILED_CHECKS = 3;
/** SIGTERM, then SIGKILL after this: a hung agent finishes nothing in a drain, but a half-stuck one may still flush a file. */
export const HUNG_GRACE_SECONDS = 5;

const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 30_000;

export type HungPolicy = {
  /** HUNG_AGENT_RESTART_AFTER; 0 turns the checks off. */
  restartAfterMs: number;
  /** HEALTH_RECHECK_TIMEOUT: how long one check waits for any answer. */
  checkTimeoutMs: number;
};

/** Unanswered checks of one agent since its last answer. */
export type Silence = { since: number; failed: number };

export const checkInterval = (restartAfterMs: number): number => Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, restartAfterMs / 6));

export const isHung = (silence: Silence, now: number, restartAfterMs: number): boolean =>
  silence.failed >= MIN_FAILED_CHECKS && now - silence.since >= restartAfterMs;

export type HungWatchOptions = {
  routes: RouteTable;
  lifecycle: Lifecycle;
  policy: HungPolicy;
  fetch?: typeof fetch;
  clock?: () => number;
  log?: Log;
  /** Hears each hung agent stopped (the hung-restarts metric). */
  onRestart?: () => void;
};

export class HungWatch {
  /** By instance id: a restarted or replaced agent starts with a clean record. */
  private readonly silences = new Map<string, Silence>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: HungWatchOptions) {}

  /** Checks every interval until `close`; does nothing when the policy is off. */
  start(): void {
    const { restartAfterMs } = this.options.policy;
    if (restartAfterMs <= 0) return;
    const again = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.check().finally(again), checkInterval(restartAfterMs));
    };
    again();
  }

  /** One round of checks; concurrent callers share it. */
  check(): Promise<void> {
    this.checking ??= this.round().finally(() => (this.checking = undefined));
    return this.checking;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.checking;
  }

  private async round(): Promise<void> {
    const { routes, clock = Date.now } = this.options;
    const watched = [...routes.agents()].filter((agent) => routes.isHealthy(agent.userId) && !routes.pauses.has(agent.instanceId));
    const current = new Set(watched.map((agent) => agent.instanceId));
    for (const instanceId of this.silences.keys()) if (!current.has(instanceId)) this.silences.delete(instanceId);
    const now = clock();
    const answered = await Promise.all(watched.map((agent) => this.answers(agent)));
    const stops: Promise<void>[] = [];
    watched.forEach((agent, i) => {
      // Paused or replaced while it was being asked: its silence says nothing about a hang.
      if (answered[i] || routes.pauses.has(agent.instanceId) || routes.get(agent.userId) !== agent) {
        this.silences.delete(agent.instanceId);
        return;
      }
      const silence = this.silences.get(agent.instanceId) ?? { since: now, failed: 0 };
      silence.failed += 1;
      this.silences.set(agent.instanceId, silence);
      if (isHung(silence, clock(), this.options.policy.restartAfterMs)) stops.push(this.restart(agent, silence));
    });
    await Promise.all(stops);
  }

  private async answers(agent: RunningAgent): Promise<boolean> {
    const { fetch: fetchImpl = fetch, policy } = this.options;
    try {
      const res = await fetchImpl(`${agent.url}/health`, { signal: AbortSignal.timeout(policy.checkTimeoutMs) });
      await res.body?.cancel();
      return true;
    } catch {
      return false;
    }
  }

  private async restart(agent: RunningAgent, silence: Silence): Promise<void> {
    const { lifecycle, clock = Date.now, log = () => {}, onRestart = () => {} } = this.options;
    this.silences.delete(agent.instanceId);
    const silentMs = clock() - silence.since;
    if (!(await lifecycle.stop(agent.userId, agent.instanceId, { graceSeconds: HUNG_GRACE_SECONDS }))) return;
    onRestart();
    log({
      level: 'warn',
      msg: `agent hung: no answer to ${silence.failed} health checks in ${Math.round(silentMs / 1_000)} s; stopped it, its next request starts it again`,
      event: 'hung_restart',
      userId: agent.userId,
      instanceId: agent.instanceId,
      failedChecks: silence.failed,
      silentMs,
    });
  }
}
