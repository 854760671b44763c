/** Counts the caller's request as in flight until its answer has been sent or abandoned. */
import { createMiddleware } from 'hono/factory';
import type { Activity } from '../agents/activity.ts';
import type { Env } from '../env.ts';
import { untilAnswered } from './answer-end.ts';

export const trackActivity = (activity: Activity) =>
  createMiddleware<Env>(async function trackActivity(c, next) {
    // c.get, not c.var: Hono builds a fresh object of all variables on every c.var access.
    await untilAnswered(c, next, activity.begin(c.get('identity').id));
  });
