/**
 * `GET /readyz`: whether the gateway can serve (the Docker Engine answers, the agent image exists).
 * The bare status is public, for health checks; what it runs on (image, instance, how many agents)
 * and why it is not ready only with GATEWAY_TOKEN or ADMIN_TOKEN.
 */
import type { Handler } from 'hono';
import type { RouteTable } from './agents/route-table.ts';
import type { Env } from './env.ts';
import { GatewayError } from './errors.ts';
import { bearerMatcher } from './middleware/auth.ts';
import type { AgentRuntime } from './runtime/types.ts';
import type { Settings } from './settings.ts';

export type ReadyzOptions = { runtime: AgentRuntime; routes: RouteTable; settings: Settings };

export function readyz({ runtime, routes, settings }: ReadyzOptions): Handler<Env> {
  const { gatewayToken } = settings.server;
  const tokens = [gatewayToken, settings.users.adminToken].filter((t): t is string => t !== undefined);
  const matches = bearerMatcher(tokens);
  // Without GATEWAY_TOKEN (GATEWAY_ALLOW_NO_TOKEN=1) every caller is trusted, here too.
  const mayKnow = (authorization: string | null) => gatewayToken === undefined || matches(authorization);

  return async function readyzRoute(c) {
    const detailed = mayKnow(c.req.header('authorization') ?? null);
    try {
      await runtime.checkReady();
    } catch {
      throw new GatewayError(503, 'not_ready', detailed ? `The Docker Engine or the agent image ${settings.agents.image} is not available.` : 'The gateway is not ready.');
    }
    if (!detailed) return c.json({ status: 'ready' });
    return c.json({ status: 'ready', image: settings.agents.image, instance: settings.agents.instance, network: settings.agents.networkName, agents: routes.size });
  };
}
