/** One JSON line per request, with the request id, the user it was for and how long their agent took to start, if it had to. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { jsonLog, type Log } from '../log.ts';

export type LoggerOptions = { log?: Log };

export const logger = ({ log = jsonLog }: LoggerOptions = {}) =>
  createMiddleware<Env>(async function logger(c, next) {
    const started = performance.now();
    await next();
    log({
      level: c.res.status >= 500 ? 'error' : 'info',
      msg: 'request',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round(performance.now() - started),
      userId: c.get('identity')?.id,
      agentStartMs: c.get('agentStartMs'),
    });
  });
