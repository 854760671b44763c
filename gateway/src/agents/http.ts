/**
 * The spawn-progress routes, behind the same token and identity as the proxied ones:
 * `GET /agent` the state without starting anything, `POST /agent/start` a start without waiting
 * (202), `GET /agent/events` the states as server-sent events until running or failed.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Env } from '../env.ts';
import type { Activity } from './activity.ts';
import type { AgentState, Lifecycle } from './lifecycle.ts';

/** A comment line this often keeps proxies from closing a quiet stream (a long queue). */
const KEEPALIVE_MS = 15_000;

const isFinal = (s: AgentState) => s.state === 'running' || s.state === 'failed';

/**
 * `identify` is the chain's own steps (a verified user assertion or a trusted X-User-Email, then the
 * instance's agent name), so these routes name the same agent the proxied ones do.
 */
export function agentRoutes(lifecycle: Lifecycle, activity: Activity, ...identify: MiddlewareHandler<Env>[]) {
  const routes = new Hono<Env>();
  // Hono's `/agent/*` matches `/agent` itself too: once, so the per-user limits count each request once.
  routes.use('/agent/*', ...identify);

  routes.get('/agent', async (c) => c.json(await lifecycle.state(c.var.identity)));

  routes.post('/agent/start', async (c) => {
    const { identity } = c.var;
    // Asking for the agent is using it: it is not culled before the student's first message.
    activity.touch(identity.id);
    lifecycle.startInBackground(identity);
    return c.json(await lifecycle.state(identity), 202);
  });

  routes.get('/agent/events', (c) => {
    const { identity } = c.var;
    return streamSSE(c, async (stream) => {
      const pending: AgentState[] = [];
      let wake = () => {};
      const unwatch = lifecycle.watch(identity.id, (state) => {
        pending.push(state);
        wake();
      });
      stream.onAbort(() => wake());
      try {
        pending.unshift(await lifecycle.state(identity));
        let last = '';
        for (;;) {
          const state = pending.shift();
          if (!state) {
            const woken = new Promise<void>((resolve) => (wake = resolve));
            const timer = setTimeout(() => wake(), KEEPALIVE_MS);
            await woken;
            clearTimeout(timer);
            if (stream.aborted) return;
            if (pending.length === 0) await stream.write(': keepalive\n\n');
            continue;
          }
          const data = JSON.stringify(state);
          // The first state read and the first one heard can be the same.
          if (data === last) continue;
          last = data;
          await stream.writeSSE({ event: 'state', data });
          if (isFinal(state) || stream.aborted) return;
        }
      } finally {
        unwatch();
      }
    });
  });

  return routes;
}
