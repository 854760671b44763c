/**
 * An in-memory AgentRuntime for the lifecycle's unit tests. Its behaviour (ensure reports
 * creating then starting, stop keeps the container, remove leaves running ones) is what
 * lifecycle.docker.test.ts checks the Docker runtime for.
 */
import type { AgentIdentity } from '../src/identity.ts';
import type { AgentRuntime, AgentSummary, RunningAgent } from '../src/runtime/types.ts';

type Container = { userId: string; instanceId: string; running: boolean };

export function fakeRuntime() {
  const containers = new Map<string, Container>();
  const calls: string[] = [];
  let starting = 0;
  const stats = { maxOverlap: 0 };
  /** Replace to hold starts (resolve it later) or make them fail. */
  const hooks = { beforeStart: async (_userId: string) => {}, beforeStop: async (_instanceId: string) => {} };
  const agentOf = (c: Container): RunningAgent => ({ userId: c.userId, instanceId: c.instanceId, url: `http://${c.instanceId}.test:8000` });
  const summary = (c: Container): AgentSummary => ({ userId: c.userId, instanceId: c.instanceId, outdated: false, running: c.running, ...(c.running ? { url: agentOf(c).url } : {}) });
  let serial = 0;

  const runtime: AgentRuntime = {
    async ensure(identity: AgentIdentity, progress = () => {}) {
      calls.push(`ensure ${identity.id}`);
      let container = containers.get(identity.id);
      if (container?.running) return agentOf(container);
      starting += 1;
      stats.maxOverlap = Math.max(stats.maxOverlap, starting);
      try {
        if (!container) {
          progress('creating');
          container = { userId: identity.id, instanceId: `c-${identity.id}-${(serial += 1)}`, running: false };
          containers.set(identity.id, container);
        }
        progress('starting');
        await hooks.beforeStart(identity.id);
        container.running = true;
        return agentOf(container);
      } finally {
        starting -= 1;
      }
    },
    async find(identity) {
      const c = containers.get(identity.id);
      return c && summary(c);
    },
    async stop(instanceId) {
      calls.push(`stop ${instanceId}`);
      await hooks.beforeStop(instanceId);
      for (const c of containers.values()) if (c.instanceId === instanceId) c.running = false;
    },
    async remove(instanceId) {
      calls.push(`remove ${instanceId}`);
      for (const [userId, c] of containers) if (c.instanceId === instanceId && !c.running) containers.delete(userId);
    },
    async locate(instanceId) {
      for (const c of containers.values()) if (c.instanceId === instanceId && c.running) return agentOf(c);
      return undefined;
    },
    async list() {
      return [...containers.values()].map(summary);
    },
    async *events() {},
    async checkReady() {},
  };
  return { runtime, containers, calls, hooks, stats };
}

/** Every agent answers /health at once. */
export const healthyFetch = (async () => Response.json({ status: 'ok' })) as unknown as typeof fetch;
