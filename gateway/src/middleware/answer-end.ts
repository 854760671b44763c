/** Runs the rest of the chain and calls `done` once the answer has been sent or abandoned, however long it streams. */
import type { Context, Next } from 'hono';
import { onBodyEnd } from '../agents/activity.ts';

export async function untilAnswered(c: Context, next: Next, done: () => void): Promise<void> {
  try {
    await next();
  } catch (err) {
    done();
    throw err;
  }
  const body = c.res.body;
  if (body) c.res = new Response(onBodyEnd(body, done), c.res);
  else done();
}
