/** Counts the caller's request as in flight until its answer has been sent or abandoned. */
import { createMiddleware } from 'hono/factory';
import { onBodyEnd, type Activity } from '../agents/activity.ts';
import type { Env } from '../env.ts';

/**
 * An answer of at most this many bytes, with its length declared, counts as over once its headers
 * are in: the rest follows within moments, and a stopping agent finishes the answers in flight.
 * Wrapping the body in a stream of our own to see its end took Bun off its native path for every
 * small JSON answer (about a tenth of the gateway's CPU under load); streams (SSE chats), bodies
 * without a length and large downloads are still followed to their end.
 */
const SMALL_ANSWER_BYTES = 64 * 1024;

function isSmall(res: Response): boolean {
  const length = res.headers.get('content-length');
  return length !== null && Number(length) <= SMALL_ANSWER_BYTES;
}

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
    if (body && !isSmall(c.res)) c.res = new Response(onBodyEnd(body, done), c.res);
    else done();
  });
