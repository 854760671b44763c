/**
 * The one place that moves agents between states, after KubeSpawner's progress events and
 * JupyterHub's poll(): absent → queued → creating → starting → waiting_for_health → running →
 * stopping → stopped, or failed with a reason. Starts pass the spawn queue (MAX_CONCURRENT_SPAWNS)
 * and the active limit (MAX_ACTIVE_AGENTS); stops (culling, making room) wait for answers in flight,
 * and an operator's (the admin API) is made however busy the agent is, which still drains them.
 * `running` and `stopped` are read from the route table and the runtime, never stored, so they
 * cannot drift; only the passing states and `failed` are kept here.
 */
import { GatewayError } from '../errors.ts';
import type { AgentIdentity } from '../identity.ts';
import type { Log } from '../log.ts';
import { AgentStartError, type AgentExit, type AgentRuntime, type RunningAgent } from '../runtime/types.ts';
import type { LifecycleSettings } from '../settings.ts';
import type { Activity } from './activity.ts';
import { agentExited, exitReason } from './agent-exit.ts';
import { waitUntilHealthy } from './readiness.ts';
import { agentPaused } from './pauses.ts';
import type { RouteTable } from './route-table.ts';
import { SingleFlight } from './single-flight.ts';
import { SpawnQueue, SpawnQueueFull } from './spawn-queue.ts';
import { StartBackoff } from './start-backoff.ts';

export type AgentState =
  | { state: 'absent' }
  | { state: 'queued'; position: number }
  | { state: 'creating' }
  | { state: 'starting' }
  | { state: 'waiting_for_health' }
  /** `paused`: the platform froze it (agents/pauses.ts); requests get 503 agent_paused until it is unpaused. */
  | { state: 'running'; paused?: true }
  | { state: 'stopping' }
  | { state: 'stopped' }
  | { state: 'failed'; reason: string; message: string };

export type LifecycleOptions = {
  runtime: AgentRuntime;
  routes: RouteTable;
  activity: Activity;
  settings: LifecycleSettings;
  /** How long a start waits for the agent's `/health` (START_TIMEOUT_MS). */
  startTimeoutMs: number;
  fetch?: typeof fetch;
  log?: Log;
  /** Keeps a user whose agent keeps exiting at start from being started in a tight loop. */
  backoff?: StartBackoff;
  /** Hears every state change of every agent (agents/observer.ts: the lifecycle log, metrics, last failures). */
  onState?: (userId: string, state: AgentState) => void;
};

/** Seconds a client is told to wait when the engine or the active limit refuses a start. */
const RETRY_AFTER_SECONDS = 5;
/** A first guess at how long a start takes, until one has been measured. */
const INITIAL_START_SECONDS = 3;

export class Lifecycle {
  private readonly runtime: AgentRuntime;
  private readonly routes: RouteTable;
  private readonly activity: Activity;
  private readonly settings: LifecycleSettings;
  private readonly startTimeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly log: Log;
  private readonly backoff: StartBackoff;
  private readonly onState: (userId: string, state: AgentState) => void;
  private readonly queue: SpawnQueue;
  private readonly starts = new SingleFlight<RunningAgent>();
  private readonly stops = new Map<string, Promise<void>>();
  /** Passing states and `failed`; a user without an entry is running, stopped or absent. */
  private readonly states = new Map<string, AgentState>();
  private readonly watchers = new Map<string, Set<(state: AgentState) => void>>();
  /** Users whose start holds a place under MAX_ACTIVE_AGENTS before their route exists. */
  private readonly claims = new Set<string>();
  /** Smoothed duration of a start, for Retry-After. */
  private startSeconds = INITIAL_START_SECONDS;

  constructor({ runtime, routes, activity, settings, startTimeoutMs, fetch: fetchImpl = fetch, log = () => {}, backoff = new StartBackoff(), onState = () => {} }: LifecycleOptions) {
    this.runtime = runtime;
    this.routes = routes;
    this.activity = activity;
    this.settings = settings;
    this.startTimeoutMs = startTimeoutMs;
    this.fetch = fetchImpl;
    this.log = log;
    this.backoff = backoff;
    this.onState = onState;
    this.queue = new SpawnQueue(settings.maxConcurrentSpawns, settings.maxSpawnQueue);
  }

  /**
   * The user's agent, running and healthy: at once when it is, else after waiting for its stop
   * to finish, its place in the queue and its start. Concurrent callers for one user share one start.
   */
  async ensure(identity: AgentIdentity): Promise<RunningAgent> {
    const id = identity.id;
    for (;;) {
      const stopping = this.stops.get(id);
      if (stopping) {
        await stopping;
        continue;
      }
      const known = this.routes.get(id);
      if (known && this.routes.isHealthy(id)) return known;
      // Frozen (agents/pauses.ts): no start could make it answer, so none is waited for.
      if (known && this.routes.pauses.has(known.instanceId)) throw agentPaused();
      return this.starts.run(id, () => this.start(identity, known));
    }
  }

  /** Starts the agent in the background (POST /agent/start); a full queue is refused at once. */
  startInBackground(identity: AgentIdentity): void {
    const id = identity.id;
    const passing = this.states.get(id);
    const underWay = (passing !== undefined && passing.state !== 'failed') || this.stops.has(id);
    if (!underWay && !this.routes.isHealthy(id)) this.refuseWhenQueueFull();
    this.ensure(identity).catch(() => {
      // Recorded as the `failed` state, which the caller reads from GET /agent or the events.
    });
  }

  /** An operator's restart is a deliberate new try: earlier failed starts do not hold it back. */
  forgetFailures(userId: string): void {
    this.backoff.succeeded(userId);
  }

  /** The state without starting anything; asks the runtime only about an agent the gateway does not know. */
  async state(identity: AgentIdentity): Promise<AgentState> {
    const known = this.current(identity.id);
    if (known?.state === 'running') {
      const route = this.routes.get(identity.id);
      return route && this.routes.pauses.has(route.instanceId) ? { state: 'running', paused: true } : known;
    }
    if (known) return known;
    const found = await this.runtime.find(identity).catch(() => undefined);
    if (!found) return { state: 'absent' };
    return { state: found.running ? 'running' : 'stopped' };
  }

  /** Hears every state the user's agent moves to, until the returned function is called. */
  watch(userId: string, listener: (state: AgentState) => void): () => void {
    let listeners = this.watchers.get(userId);
    if (!listeners) this.watchers.set(userId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.watchers.get(userId) === listeners) this.watchers.delete(userId);
    };
  }

  /** Records that the user's agent failed to start (also for a runtime that finds out on its own, e.g. an agent that exited). */
  fail(userId: string, reason: string, message: string): void {
    this.set(userId, { state: 'failed', reason, message });
  }

  /**
   * Stops a running agent and lets it drain, unless a request of its user is in flight or a start
   * or stop is in progress; resolves false when it was left alone. Requests arriving meanwhile
   * wait for the stop and start the agent again. `hung` (agents/hung.ts): stopped with that grace
   * whatever is in flight, since a hung agent answers none of it.
   */
  stop(userId: string, instanceId: string, hung?: { graceSeconds: number }): Promise<boolean> {
    const passing = this.states.get(userId);
    const busy = hung ? this.stops.has(userId) || (passing !== undefined && passing.state !== 'failed') : !this.isIdle(userId);
    if (busy) return Promise.resolve(false);
    return this.stopping(userId, instanceId, hung?.graceSeconds, async () => {}).then(
      () => true,
      (err: unknown) => {
        this.log({ level: 'warn', msg: 'stopping an agent failed', userId, error: String(err) });
        return true;
      },
    );
  }

  /**
   * An operator's stop (the admin API), the culler's path without its patience: after any start or
   * stop under way, the agent is stopped whatever is in flight (it still drains it), then `then`
   * runs (removing the container, moving the data aside) before anything may start it again.
   * Requests arriving meanwhile wait for all of it and then start the agent as after culling, so
   * none of them adopts a draining container and counts its exit as a crash. `instanceId` is the
   * container the operator saw (none: no container was listed); a start that ran while this waited
   * may have replaced it, so the one it routes to is stopped instead, and handed to `then`.
   */
  async stopForOperator<T>(userId: string, instanceId: string | undefined, then: (instanceId: string | undefined) => Promise<T>): Promise<T> {
    for (;;) {
      const underWay = this.stops.get(userId) ?? this.starts.get(userId);
      // Checked and marked in the same turn, so no start slips in between.
      if (!underWay) return this.stopping(userId, this.routes.get(userId)?.instanceId ?? instanceId, undefined, then);
      await underWay.catch(() => {});
    }
  }

  /** Stops the agent and runs `then`; requests wait for both (`ensure`), and hear `stopped` once both are over. */
  private stopping<T>(userId: string, instanceId: string | undefined, graceSeconds: number | undefined, then: (instanceId: string | undefined) => Promise<T>): Promise<T> {
    this.set(userId, { state: 'stopping' });
    this.routes.delete(userId, instanceId);
    const stopped = instanceId === undefined ? Promise.resolve() : this.runtime.stop(instanceId, graceSeconds);
    const work = stopped.then(() => then(instanceId));
    const over = work.then(() => {}, () => {}).finally(() => {
      this.stops.delete(userId);
      this.states.delete(userId);
      this.emit(userId, { state: 'stopped' });
    });
    this.stops.set(userId, over);
    return over.then(() => work);
  }

  /** No request in flight, no start or stop under way: safe to stop. */
  isIdle(userId: string): boolean {
    return this.activity.requestsInFlight(userId) === 0 && !this.states.has(userId) && !this.stops.has(userId) && !this.claims.has(userId) && this.queue.position(userId) === undefined;
  }

  /** Agents running or starting, as MAX_ACTIVE_AGENTS counts them. */
  activeCount(): number {
    let count = this.routes.size;
    for (const userId of this.claims) if (!this.routes.get(userId)) count += 1;
    return count;
  }

  /** The state known without asking the runtime; undefined means stopped or absent. */
  private current(userId: string): AgentState | undefined {
    const recorded = this.states.get(userId);
    if (recorded && recorded.state !== 'failed') return recorded;
    // A failed start may leave a route to an agent that never answered /health: still failed.
    if (recorded ? this.routes.isHealthy(userId) : this.routes.get(userId)) return { state: 'running' };
    return recorded;
  }

  private set(userId: string, state: AgentState): void {
    const previous = this.states.get(userId);
    if (previous && JSON.stringify(previous) === JSON.stringify(state)) return;
    this.states.set(userId, state);
    this.emit(userId, state);
  }

  private emit(userId: string, state: AgentState): void {
    this.onState(userId, state);
    for (const listener of this.watchers.get(userId) ?? []) listener(state);
  }

  private refuseWhenQueueFull(): void {
    if (this.queue.queued < this.settings.maxSpawnQueue) return;
    const seconds = Math.max(1, Math.ceil(((this.queue.queued + 1) / this.settings.maxConcurrentSpawns) * this.startSeconds));
    throw new GatewayError(429, 'spawn_queue_full', 'Too many tutors are starting; try again shortly.', { 'Retry-After': String(seconds) });
  }

  private async start(identity: AgentIdentity, known: RunningAgent | undefined): Promise<RunningAgent> {
    const id = identity.id;
    try {
      await this.checkBackoff(id);
    } catch (err) {
      const failure = err as GatewayError;
      this.fail(id, failure.code, failure.message);
      throw failure;
    }
    let release: () => void;
    try {
      release = await this.queue.acquire(id, (position) => this.set(id, { state: 'queued', position }));
    } catch (err) {
      if (!(err instanceof SpawnQueueFull)) throw err;
      this.refuseWhenQueueFull();
      throw err;
    }
    const began = performance.now();
    try {
      let agent = known;
      if (!agent) {
        await this.makeRoom(id);
        agent = await this.runtime.ensure(identity, (step) => this.set(id, { state: step }));
        // Known before it is healthy, so its start event costs no lookup.
        this.routes.set(agent);
      }
      this.set(id, { state: 'waiting_for_health' });
      await this.whenHealthy(agent, id);
      this.routes.setHealthy(agent);
      this.backoff.succeeded(id);
      this.states.delete(id);
      this.emit(id, { state: 'running' });
      if (!known) this.startSeconds = 0.8 * this.startSeconds + 0.2 * ((performance.now() - began) / 1_000);
      return agent;
    } catch (err) {
      const failure = asGatewayError(err);
      // Anything else is a bug: the error handler logs it and answers 500.
      this.fail(id, failure?.code ?? 'internal_error', failure?.message ?? 'The gateway failed to start the agent.');
      throw failure ?? err;
    } finally {
      this.claims.delete(id);
      release();
    }
  }

  /** Waits for `/health`, unless the container exits first: then the caller learns why within a poll. */
  private async whenHealthy(agent: RunningAgent, userId: string): Promise<void> {
    const watching = new AbortController();
    try {
      const exit = await Promise.race([
        waitUntilHealthy(agent.url, { timeoutMs: this.startTimeoutMs, fetch: this.fetch }).then(() => undefined),
        // An engine that cannot be asked leaves the health poll and its timeout in charge.
        this.runtime.watchExit(agent.instanceId, watching.signal).catch(() => new Promise<never>(() => {})),
      ]);
      if (exit) await this.exited(agent, userId, exit);
    } finally {
      watching.abort();
    }
  }

  private async exited(agent: RunningAgent, userId: string, exit: AgentExit): Promise<never> {
    this.routes.delete(agent.userId, agent.instanceId);
    const reason = exitReason(exit);
    const retryAfterMs = this.backoff.fail(userId, await this.runtime.revision(), reason);
    this.log({ level: 'error', msg: 'agent exited before it was healthy', userId, exitCode: exit.exitCode, output: exit.lines, retryAfterMs });
    throw agentExited(reason, retryAfterMs);
  }

  /** A user whose agent keeps exiting waits out the back-off, unless the image or config changed meanwhile. */
  private async checkBackoff(userId: string): Promise<void> {
    if (!this.backoff.has(userId)) return;
    const backedOff = this.backoff.check(userId, await this.runtime.revision());
    if (backedOff) throw agentExited(backedOff.reason, backedOff.retryAfterMs);
  }

  /**
   * At MAX_ACTIVE_AGENTS, stops the least recently used idle agent and waits for it; with none
   * idle, refuses with 503. The caller claims its place in the same turn as the count, so
   * concurrent starts cannot both take the last one.
   */
  private async makeRoom(userId: string): Promise<void> {
    const limit = this.settings.maxActiveAgents;
    const making: Promise<boolean>[] = [];
    while (limit > 0 && this.activeCount() >= limit) {
      const victim = this.leastRecentlyUsedIdle();
      if (!victim) {
        throw new GatewayError(503, 'too_many_agents', `All ${limit} tutors are busy; try again shortly.`, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
      }
      this.log({ level: 'info', msg: 'stopping the least recently used agent to make room', userId: victim.userId, for: userId });
      making.push(this.stop(victim.userId, victim.instanceId));
    }
    this.claims.add(userId);
    await Promise.all(making);
  }

  private leastRecentlyUsedIdle(): RunningAgent | undefined {
    let oldest: RunningAgent | undefined;
    for (const agent of this.routes.agents()) {
      if (!this.isIdle(agent.userId)) continue;
      if (!oldest || this.activity.lastActive(agent.userId) < this.activity.lastActive(oldest.userId)) oldest = agent;
    }
    return oldest;
  }
}

function asGatewayError(err: unknown): GatewayError | undefined {
  if (err instanceof GatewayError) return err;
  // The runtime found the container paused before the route table heard of it: the same answer as the table's.
  if (err instanceof AgentStartError && err.reason === 'agent_paused') return agentPaused();
  if (err instanceof AgentStartError) return new GatewayError(503, err.reason, err.message, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
  return undefined;
}
