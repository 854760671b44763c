/**
 * The relay's limits: tokens per student per day, a global daily cap, requests per student per
 * minute, calls per student in flight. Tokens are counted when an answer ends, so the request that
 * crosses a budget finishes and the next one is refused.
 */
import type { RelaySettings } from '../settings.ts';
import type { UsageStore } from './store.ts';

export type Refusal = {
  /** `llm_quota`: a daily budget is used up; `llm_rate_limited`: too many requests this minute, or at once. */
  code: 'llm_quota' | 'llm_rate_limited';
  message: string;
  /** Whose budget is used up: the student's own, or the whole class's (RELAY_GLOBAL_TOKENS_PER_DAY). */
  scope: 'student' | 'class';
  /** When asking again can succeed. */
  resetsAt: Date;
};

export const nextUtcMidnight = (now: Date): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));

/** A daily budget used up: it resets at the next midnight UTC, which the message names. */
function quota(scope: Refusal['scope'], used: string, now: Date): Refusal {
  const midnight = nextUtcMidnight(now);
  return { code: 'llm_quota', scope, message: `${used}; it resets at ${midnight.toISOString().slice(0, 16).replace('T', ' ')} UTC.`, resetsAt: midnight };
}

type Limits = Pick<RelaySettings, 'tokensPerDay' | 'requestsPerMinute' | 'globalTokensPerDay'>;

/**
 * Relay calls one student may have in flight at once. Budgets are counted when an answer ends, so
 * calls made in parallel would each pass the check: 4 bounds the overshoot to 4 answers, and is
 * enough for a student with a few tabs open.
 */
export const MAX_CALLS_IN_FLIGHT = 4;

export class RelayLimits {
  /** Requests per user in the current minute; fixed windows are plenty for "slow down". */
  private window = { minute: -1, counts: new Map<string, number>() };
  /** Calls per user admitted and not yet released. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly limits: Limits,
    private readonly store: UsageStore,
  ) {}

  /**
   * Undefined when the user may make one more call now, else why not. An admitted call counts
   * toward this minute and holds one of the user's slots in flight until `release`.
   */
  check(userId: string, now = new Date()): Refusal | undefined {
    if (this.limits.tokensPerDay > 0 && this.store.tokensToday(userId, now) >= this.limits.tokensPerDay) {
      return quota('student', "You have used today's tutoring allowance", now);
    }
    if (this.limits.globalTokensPerDay > 0 && this.store.globalTokensToday(now) >= this.limits.globalTokensPerDay) {
      return quota('class', "The class has used today's tutoring allowance", now);
    }
    const calls = this.inFlight.get(userId) ?? 0;
    if (calls >= MAX_CALLS_IN_FLIGHT) {
      return { code: 'llm_rate_limited', scope: 'student', message: 'Your tutor is already working on several answers; please wait for one to finish.', resetsAt: new Date(now.getTime() + 1000) };
    }
    if (this.limits.requestsPerMinute > 0) {
      const minute = Math.floor(now.getTime() / 60_000);
      if (minute !== this.window.minute) this.window = { minute, counts: new Map() };
      const used = this.window.counts.get(userId) ?? 0;
      if (used >= this.limits.requestsPerMinute) {
        return { code: 'llm_rate_limited', scope: 'student', message: 'You are asking your tutor faster than your school allows. Please wait a minute and try again.', resetsAt: new Date((minute + 1) * 60_000) };
      }
      this.window.counts.set(userId, used + 1);
    }
    this.inFlight.set(userId, calls + 1);
    return undefined;
  }

  /** Ends an admitted call. One that was never forwarded (its body refused) also gives back its count for the minute. */
  release(userId: string, forwarded: boolean): void {
    const calls = (this.inFlight.get(userId) ?? 1) - 1;
    if (calls > 0) this.inFlight.set(userId, calls);
    else this.inFlight.delete(userId);
    const used = this.window.counts.get(userId);
    if (!forwarded && used) this.window.counts.set(userId, used - 1);
  }
}
