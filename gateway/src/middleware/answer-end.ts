/** Runs the rest of the chain and calls `done` once the answer has been sent or abandoned, however long it streams. */
import type { Context, Next } from 'hono';
import { onBodyEnd } from '../agents/activity.ts';

/**
 * An answer of at most this many bytes, with its length declared, counts as over once its headers
 * are in: the rest follows within moments, and a stopping agent finishes the answers in flight.
 * Wrapping the body in a stream of our own to see its end took Bun off its native path for every
 * small JSON answer (about half the throughput of small answers in the profile); streams (SSE
 * chats), bodies without a length and large downloads are still followed to their end.
 */
const SMALL_ANSWER_BYTES = 64 * 1024;

function isSmall(res: Response): boolean {
  const length = res.headers.get('content-length');
  return length !== null && Number(length) <= SMALL_ANSWER_BYTES;
}

export async function untilAnswered(c: Context, next: Next, done: () => void): Promise<void> {
  try {
    await next();
  } catch (err) {
    done();
    throw err;
  }
  const body = c.res.body;
  if (!body || isSmall(c.res)) return done();
  // Hono answers HEAD with the GET handler's headers and drops its body unread, so nothing would
  // ever see that body end: cancel it (which also ends a stream such as /agent/events) and be done.
  if (c.req.method === 'HEAD') {
    body.cancel().catch(() => {});
    return done();
  }
  c.res = new Response(onBodyEnd(body, done), c.res);
}
