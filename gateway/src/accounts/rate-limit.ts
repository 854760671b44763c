/**
 * Failed sign-ins per key (an account, a client address): `max` failures within `windowMs` block
 * the key for `windowMs`, and every further block in a row doubles, up to `maxBlockMs`. A key
 * that stays quiet for `maxBlockMs` starts over. In memory: a gateway restart forgets it, which
 * costs an attacker a restart they cannot cause.
 */
export type LimiterOptions = { max?: number; windowMs?: number; maxBlockMs?: number; now?: () => number };

type Entry = { failures: number[]; blockedUntil: number; strikes: number; last: number };

/** Past this many keys, entries that block nothing any more are swept. */
const SWEEP_AT = 10_000;

export class FailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxBlockMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor({ max = 5, windowMs = 60_000, maxBlockMs = 15 * 60_000, now = Date.now }: LimiterOptions = {}) {
    this.#max = max;
    this.#windowMs = windowMs;
    this.#maxBlockMs = maxBlockMs;
    this.#now = now;
  }

  /** Milliseconds until the key may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const entry = this.#entries.get(key);
    return entry ? Math.max(0, entry.blockedUntil - this.#now()) : 0;
  }

  fail(key: string): void {
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (!entry || now - entry.last > this.#maxBlockMs + this.#windowMs) {
      if (this.#entries.size >= SWEEP_AT) this.#sweep(now);
      entry = { failures: [], blockedUntil: 0, strikes: 0, last: now };
      this.#entries.set(key, entry);
    }
    entry.last = now;
    entry.failures = entry.failures.filter((at) => now - at < this.#windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.#max) {
      entry.strikes += 1;
      entry.blockedUntil = now + Math.min(this.#windowMs * 2 ** (entry.strikes - 1), this.#maxBlockMs);
      entry.failures = [];
    }
  }

  /** Forgets a key's failures, e.g. an account's after its right password. */
  reset(key: string): void {
    this.#entries.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.blockedUntil <= now && now - entry.last > this.#windowMs) this.#entries.delete(key);
    }
  }
}
