/**
 * Assertions already verified, by their exact token string, each until it stops being valid.
 * Verifying a JWT (HMAC or a signature, and the claims) cost about 43 µs on every request; the web
 * app sends the same token for a while, so the hot path looks it up instead. Only what the
 * signature proved is kept (the claims); checks that can change at any time (a session ended) are
 * made again on every request by the caller.
 */

/** Enough for every user active within a token's lifetime in a large school; past it the least recently used entry goes. */
export const MAX_VERIFIED = 4_096;

type Entry<T> = { value: T; until: number; used: number };

export class VerifiedCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /**
   * When each entry was last used, as a count: a hit only writes a number. Moving the entry to the
   * end of the map on every hit (delete, set) churned a long-lived Map on every request, which costs
   * JSC's collector as the pause listeners' Set did (agents/pauses.ts).
   */
  #uses = 0;

  constructor(
    private readonly max = MAX_VERIFIED,
    private readonly now: () => number = Date.now,
  ) {}

  /** The claims of a token verified earlier and still valid now, else undefined. */
  get(token: string): T | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.#entries.delete(token);
      return undefined;
    }
    entry.used = ++this.#uses;
    return entry.value;
  }

  /** Keeps a verified token's claims until `until` (ms since the epoch), when it would be refused. */
  set(token: string, value: T, until: number): void {
    if (until <= this.now()) return;
    this.#entries.delete(token);
    if (this.#entries.size >= this.max) this.#entries.delete(this.leastRecentlyUsed());
    this.#entries.set(token, { value, until, used: ++this.#uses });
  }

  /** A scan, made only when a new token finds the cache full: rare next to the hits it spares. */
  private leastRecentlyUsed(): string {
    let oldest: string | undefined;
    let oldestUse = Infinity;
    for (const [token, entry] of this.#entries) {
      if (entry.used < oldestUse) {
        oldest = token;
        oldestUse = entry.used;
      }
    }
    return oldest!;
  }

  get size(): number {
    return this.#entries.size;
  }
}
