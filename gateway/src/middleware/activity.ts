/** Counts the caller's request as in flight until its answer has been sent or abandoned. */
import { createMiddleware } from 'hono/factory';
import { onBodyEnd, type Activity } from '../agents/activity.ts';
import type { Env } from '../env.ts';

export const trackActivity = (activity: Activity) =>
  createMiddleware<Env>(async function trackActivity(c, next) {
    // c.get, not c.var: Hono builds a fresh object of all variables on every c.var access.
    const done = activity.begin(c.get('identity').id);
    try {
      await next();
    } catch (err) {
      done();
      throw err;
    }
    const body = c.res.body;
    if (body) c.res = new Response(onBodyEnd(body, done), c.res);
    else done();
  });
