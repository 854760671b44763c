/** The typed context every middleware and handler of the gateway shares. */
import type { AgentIdentity } from './identity.ts';
import type { RunningAgent } from './runtime/types.ts';

export type Env = {
  /** Bun.serve passes its server as the second argument of fetch; absent under app.request(). */
  Bindings: { requestIP?: (req: Request) => { address: string } | null } | undefined;
  Variables: {
    requestId: string;
    identity: AgentIdentity;
    agent: RunningAgent;
    /** When the request began waiting for its agent (middleware/metrics.ts). */
    agentWaitFrom: number;
    /** How long it waited for its agent to start, when it had to (logged with the request). */
    agentStartMs: number;
  };
};
