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
    /** The pattern of the proxied route that answered, for the metrics (middleware/metrics.ts). */
    route: string;
    /** How long it waited for its agent to start, when it had to (logged with the request). */
    agentStartMs: number;
  };
};
