/** What the gateway needs from a container platform; Docker is one implementation. */
import type { AgentIdentity } from '../identity.ts';

/** An agent that is running and where to reach it. */
export type RunningAgent = {
  userId: string;
  /** The platform's handle for this agent (a container id for Docker). */
  instanceId: string;
  /** Base URL, e.g. `http://agent-alice_example_com-1a2b3c4d5e:8000`. */
  url: string;
};

/** An agent of this gateway instance found by a scan, in any state. */
export type AgentSummary = {
  userId: string;
  instanceId: string;
  /** Made from an older agent image or under another token secret: the next request replaces it. */
  outdated: boolean;
  running: boolean;
  /** Frozen by the platform (`docker pause`): not running, but it keeps its address; see agents/pauses.ts. */
  paused?: boolean;
  /** Set when the agent is running or paused. */
  url?: string;
};

/**
 * An agent started (its address may be new: ask `locate`), went away (stopped, died, removed), or was
 * paused or unpaused (frozen by the platform; agents/pauses.ts).
 * For the log: `exitCode` when its process exited, `removed` when its container was, and
 * `restarts` when the platform itself started it again (a crash under its restart policy).
 */
export type AgentEvent = { type: 'started' | 'gone' | 'paused' | 'unpaused'; userId: string; instanceId: string; exitCode?: number; removed?: boolean; restarts?: number };

/** Why an agent could not be started; the gateway answers 503 with the message. */
export class AgentStartError extends Error {
  constructor(
    message: string,
    readonly reason: 'image_missing' | 'config_missing' | 'engine_unreachable' | 'engine_error' | 'name_taken' | 'agent_paused',
  ) {
    super(message);
  }
}

/** An agent that stopped (or began restarting) before it was healthy: its exit code and last output lines, secrets masked. */
export type AgentExit = { exitCode: number; lines: string[] };

/** What `ensure` is doing, for the spawn progress (agents/lifecycle.ts): it reports `starting` once a container exists. */
export type EnsureProgress = (step: 'creating' | 'starting') => void;

export interface AgentRuntime {
  /** Makes the user's agent run (adopting, starting or creating it) and says where it listens. */
  ensure(identity: AgentIdentity, progress?: EnsureProgress): Promise<RunningAgent>;
  /** The user's agent in any state, without starting it; undefined when there is none. */
  find(identity: AgentIdentity): Promise<AgentSummary | undefined>;
  /**
   * Stops an agent of this gateway instance, letting it drain (SIGTERM, then the platform's stop
   * timeout, or `graceSeconds` where the platform takes one per stop); its data and container stay.
   * Stopping one that is stopped or gone is no error.
   */
  stop(instanceId: string, graceSeconds?: number): Promise<void>;
  /** Removes a stopped agent of this gateway instance (never its data); a running or gone one is left alone. */
  remove(instanceId: string): Promise<void>;
  /** Where a running agent listens; undefined when it is gone or not running. */
  locate(instanceId: string): Promise<RunningAgent | undefined>;
  /** Agents that belong to this gateway instance, in any state. */
  list(): Promise<AgentSummary[]>;
  /** Agents starting and going away, until the signal aborts or the platform closes the stream. */
  events(signal: AbortSignal): AsyncIterable<AgentEvent>;
  /** Throws unless the platform answers and the agent image is available. */
  checkReady(): Promise<void>;
  /**
   * Settles once the agent stops or restarts, with why; the agent is then stopped so it does not
   * loop. Never settles for an agent that keeps running; stops watching when the signal aborts.
   */
  watchExit(instanceId: string, signal: AbortSignal): Promise<AgentExit>;
  /** Changes whenever what agents are made from (image, shared config) changes: a fix clears start back-offs. */
  revision(): Promise<string>;
}

/** One agent container as an operator sees it (GET /admin/agents). */
export type AgentDetails = {
  userId: string;
  email: string;
  instanceId: string;
  /** The platform's own word: running, exited, restarting, created, paused, dead. */
  status: string;
  running: boolean;
  /** The image the agent was made from, as named when it was created. */
  image: string;
  outdated: boolean;
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** Of its last run, once it has stopped. */
  exitCode: number | undefined;
  oomKilled: boolean;
  /** Restarts by the platform (a crash and `unless-stopped`), not by the gateway. */
  restarts: number;
};

/** A one-shot resource sample; CPU is cumulative, so a rate needs two samples. */
export type AgentUsage = { memoryBytes: number; memoryLimitBytes: number; cpuNs: number; systemCpuNs: number; cpus: number };

/** Whether the platform answers and has the agent image, for the admin's health panel. */
export type EngineHealth = { reachable: boolean; image: string; imagePresent: boolean };

/** What the admin API reads about agents, beyond AgentRuntime; every call only touches this instance's agents. */
export interface AgentInspector {
  engine(): Promise<EngineHealth>;
  /** This instance's agents (one user's when `userId` is given), in any state. */
  details(userId?: string): Promise<AgentDetails[]>;
  /** Memory and CPU now; undefined for an agent that is not running. */
  usage(instanceId: string): Promise<AgentUsage | undefined>;
  /** The last lines of the agent's output, secrets masked. */
  logTail(instanceId: string, lines: number): Promise<string[]>;
}
