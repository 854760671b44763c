/** The gateway's HTTP chain, top to bottom: who is asking, for which agent, then the proxy. */
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Users } from './accounts/index.ts';
import type { Env } from './env.ts';
import { errorHandler, notFoundResponse } from './errors.ts';
import { tokenAuth } from './middleware/admin-auth.ts';
import { auth } from './middleware/auth.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { Activity } from './agents/activity.ts';
import { agentRoutes } from './agents/http.ts';
import { Lifecycle } from './agents/lifecycle.ts';
import { trackActivity } from './middleware/activity.ts';
import { UnresponsiveAgents } from './agents/unresponsive.ts';
import { operatorRoutes } from './admin/index.ts';
import { AgentObserver } from './agents/observer.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { proxyMetrics, requestMetrics } from './middleware/metrics.ts';
import { ensureAgent } from './middleware/ensure-agent.ts';
import { instanceName } from './middleware/instance-name.ts';
import { UserLimiter, userLimits } from './middleware/user-limits.ts';
import { jsonLog, type Log } from './log.ts';
import { logger } from './middleware/logger.ts';
import { proxyToAgent } from './middleware/proxy.ts';
import { readyz } from './readyz.ts';
import { usageRoutes } from './relay/admin-routes.ts';
import type { UsageStore } from './relay/store.ts';
import { safePath } from './middleware/safe-path.ts';
import type { RouteTable } from './agents/route-table.ts';
import type { AgentInspector, AgentRuntime } from './runtime/types.ts';
import type { Settings } from './settings.ts';

/** The agent endpoints of docs/agent-contract.md; only `/files` has paths below it (`/files/*` matches `/files` itself too). */
export const PROXIED_PATHS = ['/chat', '/files/*', '/uploads', '/memory', '/health', '/conversations', '/sessions', '/export'];

/** The methods the agent contract uses (HEAD with GET); TRACE, CONNECT and the rest are a 404 like any unknown route. */
export const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export type AppOptions = {
  settings: Settings;
  runtime: AgentRuntime;
  /** Who requests are for (accounts/index.ts createUsers). */
  users: Users;
  /** Where running agents listen; startGateway passes one that follows the runtime's events. */
  routes: RouteTable;
  /** Used to reach agents; injectable for tests. */
  fetch?: typeof fetch;
  log?: Log;
  /** The relay's usage; with ADMIN_TOKEN set, `GET /admin/usage` shows it. */
  usage?: UsageStore;
  /** Who used which agent when; startGateway shares it with the culler. */
  activity?: Activity;
  /** Moves agents between states; startGateway shares it with the culler. */
  lifecycle?: Lifecycle;
  /** This gateway's metrics; startGateway shares them with the culler and the events stream. */
  metrics?: Metrics;
  /** Hears the lifecycle's states (a shared lifecycle must have been made with its `observe`). */
  observer?: AgentObserver;
  /** What the admin API reads about agents; without it (a test runtime) only `/metrics` is served. */
  inspector?: AgentInspector;
};

export function createApp({ settings, runtime, users, routes, fetch: fetchImpl = fetch, log = jsonLog, usage, ...shared }: AppOptions) {
  const activity = shared.activity ?? new Activity();
  const metrics = shared.metrics ?? createMetrics();
  const observer = shared.observer ?? new AgentObserver(log, metrics);
  const lifecycle = shared.lifecycle
    ?? new Lifecycle({ runtime, routes, activity, settings: settings.lifecycle, startTimeoutMs: settings.agents.startTimeoutMs, fetch: fetchImpl, log, onState: observer.observe });
  metrics.countStatesWith(() => observer.counts(routes));
  const app = new Hono<Env>();
  app.onError(errorHandler(log));
  app.notFound(notFoundResponse);

  app.use(requestId());
  app.use(requestMetrics(metrics));
  app.use(logger({ log, maxPerSecond: settings.server.requestLogPerSecond }));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', readyz({ runtime, routes, settings }));

  // Before the GATEWAY_TOKEN check: every admin route takes ADMIN_TOKEN instead, checked here once.
  const { adminToken } = settings.users;
  if (adminToken) app.use('/admin/*', tokenAuth([adminToken], 'ADMIN_TOKEN'));
  if (usage && adminToken) app.route('/admin/usage', usageRoutes(usage, settings.relay));
  // Only behind that check: never mounted open, whatever settings the accounts were made with.
  if (users.admin && adminToken) app.route('/admin', users.admin);
  app.route('/', operatorRoutes({ settings: settings.admin, metrics, inspector: shared.inspector, runtime, lifecycle, activity, observer, log }));
  // An admin's call that no admin route takes is a 404, not the GATEWAY_TOKEN refusal below.
  if (adminToken) app.all('/admin/*', notFoundResponse);
  app.use(auth({ token: settings.server.gatewayToken }));
  if (users.auth) app.route('/auth', users.auth);

  const agentName = instanceName(settings.agents.instance);
  // One limiter for both groups of routes: a student's limits count all their requests.
  const limits = userLimits(new UserLimiter(settings.server.userLimits));
  app.route('/', agentRoutes(lifecycle, activity, users.identity, agentName, limits));

  const proxyChain = [
    safePath(),
    bodyLimit({ maxBytes: settings.server.maxBodyBytes }),
    users.identity,
    agentName,
    limits,
    trackActivity(activity),
    ensureAgent(lifecycle),
  ] as const;
  const proxy = proxyToAgent({
    routes,
    agentTokenSecret: settings.agents.tokenSecret,
    maxBodyBytes: settings.server.maxBodyBytes,
    headerTimeoutMs: { slow: settings.server.upstreamTimeoutMs, quick: settings.server.quickTimeoutMs },
    bodyIdleMs: settings.server.bodyIdleMs,
    unresponsive: new UnresponsiveAgents({ recheckMs: settings.server.healthRecheckMs, fetch: fetchImpl }),
    fetch: fetchImpl,
  });
  // One registration per path, so each route's metrics know its name without looking it up.
  for (const path of PROXIED_PATHS) app.on(PROXIED_METHODS, path, ...proxyChain, proxyMetrics(metrics, path), proxy);

  return app;
}
