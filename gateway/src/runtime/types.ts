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
  /** Set when the agent is running. */
  url?: string;
};

/** An agent started (its address may be new: ask `locate`) or went away (stopped, died, removed). */
export type AgentEvent = { type: 'started' | 'gone'; userId: string; instanceId: string };

/** Why an agent could not be started; the gateway answers 503 with the message. */
export class AgentStartError extends Error {
  constructor(
    message: string,
    readonly reason: 'image_missing' | 'config_missing' | 'engine_unreachable' | 'engine_error',
  ) {
    super(message);
  }
}

/** What `ensure` is doing, for the spawn progress (agents/lifecycle.ts): it reports `starting` once a container exists. */
export type EnsureProgress = (step: 'creating' | 'starting') => void;

export interface AgentRuntime {
  /** Makes the user's agent run (adopting, starting or creating it) and says where it listens. */
  ensure(identity: AgentIdentity, progress?: EnsureProgress): Promise<RunningAgent>;
  /** The user's agent in any state, without starting it; undefined when there is none. */
  find(identity: AgentIdentity): Promise<AgentSummary | undefined>;
  /**
   * Stops an agent of this gateway instance, letting it drain (SIGTERM, then the platform's stop
   * timeout); its data and container stay. Stopping one that is stopped or gone is no error.
   */
  stop(instanceId: string): Promise<void>;
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
}
