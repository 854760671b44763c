/**
 * One JSON line per request, with the request id, the user it was for and how long their agent took
 * to start, if it had to. Past `maxPerSecond` lines in a second, the lines of successful answers
 * (status below 400, no agent start) are counted instead of written, and one line a second says how
 * many were left out: building and writing a line for every one of thousands of requests a second
 * was a visible share of the gateway's CPU, and of the engine's, which stores container logs.
 * Errors, refusals and starts are always written; the metrics count every request.
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { jsonLog, type Log } from '../log.ts';

export type LoggerOptions = {
  log?: Log;
  /** REQUEST_LOG_PER_SECOND; 0 writes every line. */
  maxPerSecond?: number;
};

export const logger = ({ log = jsonLog, maxPerSecond = 0 }: LoggerOptions = {}) => {
  let second = 0;
  let written = 0;
  let skipped = 0;
  const reportSkipped = () => {
    if (skipped > 0) log({ level: 'info', msg: 'request lines left out', count: skipped, reason: `over ${maxPerSecond} a second, all with status below 400` });
    skipped = 0;
  };
  /** Whether a successful answer's line is written: all of them up to maxPerSecond in each second. */
  const withinRate = (): boolean => {
    if (maxPerSecond === 0) return true;
    const now = Math.floor(performance.now() / 1_000);
    if (now !== second) {
      reportSkipped();
      second = now;
      written = 0;
    }
    if (written < maxPerSecond) {
      written += 1;
      return true;
    }
    // The count is written at the next second's first line, or by this timer if no line comes.
    if (skipped === 0) setTimeout(() => (Math.floor(performance.now() / 1_000) !== second ? reportSkipped() : undefined), 1_100).unref();
    skipped += 1;
    return false;
  };

  return createMiddleware<Env>(async function logger(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const agentStartMs = c.get('agentStartMs');
    if (status < 400 && agentStartMs === undefined && !withinRate()) return;
    log({
      level: status >= 500 ? 'error' : 'info',
      msg: 'request',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round(performance.now() - started),
      userId: c.get('identity')?.id,
      agentStartMs,
    });
  });
};
