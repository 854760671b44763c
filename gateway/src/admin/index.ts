/**
 * The operator's endpoints, mounted before GATEWAY_TOKEN's check because they take their own
 * tokens: `GET /metrics` (ADMIN_TOKEN or METRICS_TOKEN) and the agents' admin API under `/admin`
 * (ADMIN_TOKEN). Without the tokens, neither exists (404).
 */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import type { Metrics } from '../metrics.ts';
import { tokenAuth } from '../middleware/admin-auth.ts';
import type { AgentInspector } from '../runtime/types.ts';
import { agentsAdminApi, type AdminApiOptions } from './api.ts';
import { systemAdminApi } from './system.ts';

export type OperatorOptions = Omit<AdminApiOptions, 'inspector'> & {
  metrics: Metrics;
  /** Without one (a test runtime), only `/metrics` is served. */
  inspector?: AgentInspector;
};

export function operatorRoutes({ metrics, inspector, ...options }: OperatorOptions) {
  const routes = new Hono<Env>();
  const { adminToken, metricsToken } = options.settings;
  const metricsTokens = [adminToken, metricsToken].filter((t): t is string => t !== undefined);
  if (metricsTokens.length > 0) {
    routes.get('/metrics', tokenAuth(metricsTokens, 'ADMIN_TOKEN or METRICS_TOKEN'), async (c) =>
      c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
    );
  }
  if (adminToken !== undefined && inspector) {
    routes.route('/admin', agentsAdminApi({ ...options, inspector }));
    routes.route('/admin', systemAdminApi({ settings: options.settings, inspector }));
  }
  return routes;
}
