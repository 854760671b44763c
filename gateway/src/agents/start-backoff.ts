/**
 * Per-user back-off after an agent exited at start, so a broken image or config is not started in a
 * tight loop: 5 s, doubling up to 5 min. A back-off is keyed on the runtime's revision (image id and
 * config hash): fixing either clears every back-off at once.
 */
export const FIRST_BACKOFF_MS = 5_000;
export const MAX_BACKOFF_MS = 5 * 60_000;

type Failure = { failures: number; until: number; revision: string; reason: string };

/** While a user is backed off: why, and for how much longer. */
export type BackedOff = { reason: string; retryAfterMs: number };

export class StartBackoff {
  private readonly failures = new Map<string, Failure>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether this user is backed off under this revision; a changed revision forgets the failures. */
  check(userId: string, revision: string): BackedOff | undefined {
    const failure = this.failures.get(userId);
    if (!failure) return undefined;
    if (failure.revision !== revision) {
      this.failures.delete(userId);
      return undefined;
    }
    const retryAfterMs = failure.until - this.now();
    return retryAfterMs > 0 ? { reason: failure.reason, retryAfterMs } : undefined;
  }

  /** Records a failed start; returns how long the user now waits. */
  fail(userId: string, revision: string, reason: string): number {
    const previous = this.failures.get(userId);
    const failures = previous?.revision === revision ? previous.failures + 1 : 1;
    const delay = Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
    this.failures.set(userId, { failures, until: this.now() + delay, revision, reason });
    return delay;
  }

  /** Whether failures are recorded for this user; only then is the revision worth computing. */
  has(userId: string): boolean {
    return this.failures.has(userId);
  }

  succeeded(userId: string): void {
    this.failures.delete(userId);
  }
}
