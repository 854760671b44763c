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

/**
 * Outermost but for the request id. A proxied route names itself (proxyMetrics), so the hot path
 * skips `routePath`, which maps every matched handler; each label set's counter is made once and
 * kept, so a request allocates no label object or hash string for it.
 */
export const requestMetrics = (metrics: Metrics) => {
  const counters = new Map<string, ReturnType<Metrics['requests']['labels']>[]>();
  return createMiddleware<Env>(async function requestMetrics(c, next) {
    await next();
    const route = c.get('route') ?? routeOf(c);
    const status = c.res.status;
    let byClass = counters.get(route);
    if (!byClass) counters.set(route, (byClass = []));
    (byClass[Math.floor(status / 100)] ??= metrics.requests.labels(route, statusClass(status))).inc();
  });
};

/**
 * Placed right before the proxy of the route `route`: the time is the agent's own (no start, no
 * queue). An agent's error answer is a small JSON body; a copy of it is read off the hot path for its
 * `code`. Successful answers (SSE streams included) are never read; errors inside a stream are not seen here.
 */
export const proxyMetrics = (metrics: Metrics, route: string) => {
  const seconds = metrics.proxySeconds.labels(route);
  return createMiddleware<Env>(async function proxyMetrics(c, next) {
    c.set('route', route);
    const started = performance.now();
    await next();
    seconds.observe((performance.now() - started) / 1_000);
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
};
