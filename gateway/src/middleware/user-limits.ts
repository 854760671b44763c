/**
 * Bounded use per student: a request rate (a token bucket per user) and a number of requests open at
 * once (a streamed answer counts until it ends). Past either the caller gets 429 with Retry-After.
 * In memory, per gateway process: a restart forgives everyone, which is harmless for limits this size.
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { untilAnswered } from './answer-end.ts';

export type UserLimitSettings = {
  /** Requests per minute per user, also the burst a quiet user may spend at once; 0 is unlimited. */
  requestsPerMinute: number;
  /** Requests of one user open at once; 0 is unlimited. */
  maxConnections: number;
};

type Bucket = { tokens: number; at: number };

/** Past this many users, full buckets (users quiet for a minute) are swept; the bound is never reached in a school. */
const SWEEP_AT = 10_000;
/** An open request ends at an unknown time; this is a polite guess, not a promise. */
const CONNECTION_RETRY_S = 2;

export class UserLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly open = new Map<string, number>();
  /** Tokens a bucket gains per millisecond. */
  private readonly refill: number;

  constructor(
    readonly settings: UserLimitSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.refill = settings.requestsPerMinute / 60_000;
  }

  get enabled(): boolean {
    return this.settings.requestsPerMinute > 0 || this.settings.maxConnections > 0;
  }

  /** Takes one request's token, or says in how many seconds the next one is there. */
  take(userId: string): { ok: true } | { ok: false; retryAfterS: number } {
    const capacity = this.settings.requestsPerMinute;
    if (capacity === 0) return { ok: true };
    const now = this.now();
    let bucket = this.buckets.get(userId);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = { tokens: capacity, at: now };
      this.buckets.set(userId, bucket);
    } else {
      bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * this.refill);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refill / 1000)) };
    bucket.tokens -= 1;
    return { ok: true };
  }

  /** Opens a connection of the user's (maxConnections must be set), or undefined at the limit; call the returned function (once is enough) when it ends. */
  enter(userId: string): (() => void) | undefined {
    const max = this.settings.maxConnections;
    const count = this.open.get(userId) ?? 0;
    if (count >= max) return undefined;
    this.open.set(userId, count + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const rest = (this.open.get(userId) ?? 1) - 1;
      if (rest > 0) this.open.set(userId, rest);
      else this.open.delete(userId);
    };
  }

  openConnections(userId: string): number {
    return this.open.get(userId) ?? 0;
  }

  private sweep(now: number): void {
    const capacity = this.settings.requestsPerMinute;
    for (const [userId, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.refill >= capacity) this.buckets.delete(userId);
    }
  }
}

/** After the identity step: limits are per user, never per client address (a class shares one). */
export const userLimits = (limiter: UserLimiter) =>
  createMiddleware<Env>(async function userLimits(c, next) {
    if (!limiter.enabled) return next();
    // c.get, not c.var: Hono builds a fresh object of all variables on every c.var access.
    const userId = c.get('identity').id;
    const taken = limiter.take(userId);
    if (!taken.ok) {
      throw new GatewayError(429, 'rate_limited', `Too many requests: at most ${limiter.settings.requestsPerMinute} a minute per user. Try again in ${taken.retryAfterS} s.`, {
        'Retry-After': String(taken.retryAfterS),
      });
    }
    if (limiter.settings.maxConnections === 0) return next();
    const leave = limiter.enter(userId);
    if (!leave) {
      throw new GatewayError(429, 'too_many_connections', `Too many requests open at once: at most ${limiter.settings.maxConnections} per user.`, {
        'Retry-After': String(CONNECTION_RETRY_S),
      });
    }
    await untilAnswered(c, next, leave);
  });
