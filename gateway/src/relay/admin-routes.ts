/** `GET /admin/usage`: LLM usage per student and in total, for an admin page or a script. */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import type { RelaySettings } from '../settings.ts';
import { nextUtcMidnight } from './limits.ts';
import type { UsageStore } from './store.ts';

/** Mounted under /admin, where the app checks ADMIN_TOKEN. */
export function usageRoutes(store: UsageStore, limits: Pick<RelaySettings, 'tokensPerDay' | 'requestsPerMinute' | 'globalTokensPerDay'>) {
  const app = new Hono<Env>();
  app.get('/', (c) => {
    const now = new Date();
    return c.json({
      day: now.toISOString().slice(0, 10),
      resetsAt: nextUtcMidnight(now).toISOString(),
      limits: {
        tokensPerStudentPerDay: limits.tokensPerDay || null,
        requestsPerStudentPerMinute: limits.requestsPerMinute || null,
        globalTokensPerDay: limits.globalTokensPerDay || null,
      },
      ...store.totals(now),
      students: store.perUser(now),
      models: store.byModel(),
    });
  });
  return app;
}
