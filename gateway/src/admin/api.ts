/**
 * The operator's API, behind ADMIN_TOKEN (mounted at `/admin`, beside the accounts API):
 * the agents with their state, activity and resources, one agent's detail and log tail, stop,
 * restart, remove (data kept), delete a student (data moved aside), and the LLM provider check.
 * Only this call asks the engine for resources, in parallel and bounded, never the hot path.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Activity } from '../agents/activity.ts';
import type { Lifecycle } from '../agents/lifecycle.ts';
import type { AgentObserver } from '../agents/observer.ts';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { identityFor } from '../identity.ts';
import type { Log } from '../log.ts';
import { mapLimit } from '../runtime/docker.ts';
import type { AgentDetails, AgentInspector, AgentRuntime, AgentUsage } from '../runtime/types.ts';
import type { AdminSettings } from '../settings.ts';
import { moveToDeleted } from './deleted.ts';
import { checkLlm } from './llm-check.ts';

/** `<slug>-<hash>` as identity.ts makes it: nothing else can name a container or a folder. */
const userIdSchema = z.string().regex(/^[a-z0-9_]{1,60}-[0-9a-f]{10}$/);
const LOG_LINES = 200;
const STATS_AT_ONCE = 8;

export type AdminApiOptions = {
  settings: AdminSettings;
  runtime: AgentRuntime;
  inspector: AgentInspector;
  lifecycle: Lifecycle;
  activity: Activity;
  observer: AgentObserver;
  log: Log;
  /** Used for the LLM check; injectable for tests. */
  fetch?: typeof fetch;
};

export function userIdOf(c: Context<Env>): string {
  const parsed = userIdSchema.safeParse(c.req.param('userId'));
  if (!parsed.success) throw new GatewayError(400, 'bad_user_id', 'The user id is not one this gateway makes (<slug>-<10 hex digits>).');
  return parsed.data;
}

export function agentsAdminApi({ settings, runtime, inspector, lifecycle, activity, observer, log, fetch: fetchImpl = fetch }: AdminApiOptions) {
  const api = new Hono<Env>();
  /** The last CPU sample per agent, so each listing reports CPU use since the one before. */
  const lastCpu = new Map<string, AgentUsage>();

  function cpuPercent(instanceId: string, now: AgentUsage): number | undefined {
    const before = lastCpu.get(instanceId);
    lastCpu.set(instanceId, now);
    if (!before) return undefined;
    const system = now.systemCpuNs - before.systemCpuNs;
    if (system <= 0) return undefined;
    return Math.round(((now.cpuNs - before.cpuNs) / system) * now.cpus * 1000) / 10;
  }

  function view(agent: AgentDetails, usage?: AgentUsage) {
    const held = observer.stateOf(agent.userId);
    const lastFailure = observer.lastFailure(agent.userId);
    const lastActive = activity.lastActive(agent.userId);
    return {
      userId: agent.userId,
      email: agent.email,
      state: held?.state ?? (agent.running ? 'running' : 'stopped'),
      status: agent.status,
      image: agent.image,
      outdated: agent.outdated,
      createdAt: agent.createdAt,
      startedAt: agent.startedAt ?? null,
      finishedAt: agent.finishedAt ?? null,
      exitCode: agent.exitCode ?? null,
      oomKilled: agent.oomKilled,
      restarts: agent.restarts,
      // The activity floor is the gateway's start: an agent unused since then has no known activity.
      lastActivity: lastActive > activity.floor ? new Date(lastActive).toISOString() : null,
      requestsInFlight: activity.requestsInFlight(agent.userId),
      memoryBytes: usage?.memoryBytes ?? null,
      memoryLimitBytes: usage?.memoryLimitBytes ?? null,
      cpuPercent: usage ? (cpuPercent(agent.instanceId, usage) ?? null) : null,
      lastFailure: lastFailure ?? null,
    };
  }

  async function withUsage(agents: AgentDetails[]) {
    const usages = await mapLimit(agents, STATS_AT_ONCE, (a) => (a.running ? inspector.usage(a.instanceId).catch(() => undefined) : Promise.resolve(undefined)));
    const alive = new Set(agents.map((a) => a.instanceId));
    for (const id of lastCpu.keys()) if (!alive.has(id)) lastCpu.delete(id);
    return agents.map((a, i) => view(a, usages[i]));
  }

  async function agentOf(userId: string): Promise<AgentDetails> {
    const [agent] = await inspector.details(userId);
    if (!agent) throw new GatewayError(404, 'unknown_agent', `No agent of this gateway belongs to ${userId}.`);
    return agent;
  }

  /**
   * Through the lifecycle, busy or not (the operator asked; the agent drains what is in flight), so
   * the student's requests meanwhile wait and then start it again; `then` (a removal) happens before,
   * given the container actually stopped (a start may have replaced the listed one meanwhile).
   * A stopped agent goes through it too: a start may be under way that the listing did not show.
   */
  const stop = <T>(agent: AgentDetails, then: (instanceId: string | undefined) => Promise<T>): Promise<T> =>
    lifecycle.stopForOperator(agent.userId, agent.instanceId, then);
  const nothing = async () => {};
  const remove = async (instanceId: string | undefined) => {
    if (instanceId !== undefined) await runtime.remove(instanceId);
  };

  api.get('/agents', async (c) => {
    const agents = await withUsage(await inspector.details());
    agents.sort((a, b) => a.userId.localeCompare(b.userId));
    return c.json({ agents });
  });

  api.get('/agents/:userId', async (c) => {
    const agent = await agentOf(userIdOf(c));
    const [detail] = await withUsage([agent]);
    const logTail = await inspector.logTail(agent.instanceId, LOG_LINES);
    return c.json({ agent: detail, log: logTail });
  });

  api.post('/agents/:userId/stop', async (c) => {
    const agent = await agentOf(userIdOf(c));
    await stop(agent, nothing);
    log({ level: 'info', msg: 'admin stopped an agent', requestId: c.var.requestId, userId: agent.userId });
    return c.json({ userId: agent.userId, state: 'stopped' });
  });

  api.post('/agents/:userId/restart', async (c) => {
    const agent = await agentOf(userIdOf(c));
    await stop(agent, nothing);
    const identity = identityFor(agent.email, settings.instance);
    lifecycle.forgetFailures(agent.userId);
    lifecycle.startInBackground(identity);
    log({ level: 'info', msg: 'admin restarted an agent', requestId: c.var.requestId, userId: agent.userId });
    return c.json({ userId: agent.userId, ...(await lifecycle.state(identity)) }, 202);
  });

  api.delete('/agents/:userId', async (c) => {
    const agent = await agentOf(userIdOf(c));
    await stop(agent, remove);
    log({ level: 'info', msg: 'admin removed an agent (data kept)', requestId: c.var.requestId, userId: agent.userId });
    return c.json({ userId: agent.userId, removed: true, dataKept: true });
  });

  api.delete('/users/:userId', async (c) => {
    const userId = userIdOf(c);
    if (c.req.query('confirm') !== userId) {
      throw new GatewayError(400, 'confirmation_required', 'Deleting a student needs ?confirm=<the same user id>.');
    }
    const [agent] = await inspector.details(userId);
    // Through the lifecycle even with no container listed (a start may be creating one), and the
    // folder moved before anything may start the agent again: a new start gets a fresh folder.
    const { removed, movedTo } = await lifecycle.stopForOperator(userId, agent?.instanceId, async (instanceId) => {
      await remove(instanceId);
      return { removed: instanceId !== undefined, movedTo: await moveToDeleted(settings.dataDir, userId) };
    });
    if (!removed && !movedTo) throw new GatewayError(404, 'unknown_user', `Neither an agent nor a data folder belongs to ${userId}.`);
    log({ level: 'info', msg: 'admin deleted a student', requestId: c.var.requestId, userId, containerRemoved: removed, dataMoved: Boolean(movedTo) });
    return c.json({
      userId,
      containerRemoved: removed,
      // Relative to DATA_DIR: the gateway's own path means nothing to an operator on the host.
      dataMovedTo: movedTo ? movedTo.slice(settings.dataDir.replace(/\/+$/, '').length + 1) : null,
      retentionMs: settings.deletedRetentionMs,
    });
  });

  api.get('/llm', async (c) => c.json(await checkLlm(settings.configPath, { fetch: fetchImpl })));

  return api;
}
