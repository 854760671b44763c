/** Counts every request by route and status class, and times the proxy's wait for an agent's headers. */
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { Env } from '../env.ts';
import { errorCodeLabel, statusClass, type Metrics } from '../metrics.ts';

/** The route pattern that answered (`/files/*`, `/admin/agents/:userId`), never the raw path: the label set stays small. */
const routeOf = (c: Parameters<typeof routePath>[0]): string => {
  const path = routePath(c, -1);
  return path === '*' || path === '/*' ? 'unmatched' : path;
};

export const requestMetrics = (metrics: Metrics) =>
  createMiddleware<Env>(async function requestMetrics(c, next) {
    await next();
    metrics.requests.inc({ route: routeOf(c), status_class: statusClass(c.res.status) });
  });

/** Placed right before ensureAgent: marks when the request began waiting for its agent. */
export const agentWait = () =>
  createMiddleware<Env>(async function agentWait(c, next) {
    c.set('agentWaitFrom', performance.now());
    await next();
  });

/** A wait shorter than this is the hot path (an agent already healthy), not a start worth logging. */
const START_LOG_THRESHOLD_MS = 5;

/**
 * Placed right before the proxy: the time is the agent's own (no start, no queue). An agent's error
 * answer is a small JSON body; a copy of it is read off the hot path for its `code`. Successful
 * answers (SSE streams included) are never read; errors inside a stream are not seen here.
 */
export const proxyMetrics = (metrics: Metrics) =>
  createMiddleware<Env>(async function proxyMetrics(c, next) {
    const waited = performance.now() - c.var.agentWaitFrom;
    if (waited >= START_LOG_THRESHOLD_MS) c.set('agentStartMs', Math.round(waited));
    const end = metrics.proxySeconds.startTimer({ route: routeOf(c) });
    await next();
    end();
    const res = c.res;
    // c.error is set when the gateway itself answered (502, 504): only the agent's own answers count.
    if (!c.error && res.status >= 400 && res.status !== 499 && res.headers.get('content-type')?.includes('application/json')) {
      void res
        .clone()
        .json()
        .then((body: unknown) => metrics.agentErrors.inc({ code: errorCodeLabel((body as { code?: unknown } | null)?.code) }))
        .catch(() => metrics.agentErrors.inc({ code: 'other' }));
    }
  });
