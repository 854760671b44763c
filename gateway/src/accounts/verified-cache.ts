/**
 * Assertions already verified, by their exact token string, each until it stops being valid.
 * Verifying a JWT (HMAC or a signature, and the claims) cost about 43 µs on every request; the web
 * app sends the same token for a while, so the hot path looks it up instead. Only what the
 * signature proved is kept (the claims); checks that can change at any time (a session ended) are
 * made again on every request by the caller.
 */

/** Enough for every user active within a token's lifetime in a large school; past it the least recently used entry goes. */
export const MAX_VERIFIED = 4_096;

export class VerifiedCache<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();

  constructor(
    private readonly max = MAX_VERIFIED,
    private readonly now: () => number = Date.now,
  ) {}

  /** The claims of a token verified earlier and still valid now, else undefined. */
  get(token: string): T | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    this.#entries.delete(token);
    if (entry.until <= this.now()) return undefined;
    // Most recently used last, so the oldest is the first key.
    this.#entries.set(token, entry);
    return entry.value;
  }

  /** Keeps a verified token's claims until `until` (ms since the epoch), when it would be refused. */
  set(token: string, value: T, until: number): void {
    if (until <= this.now()) return;
    this.#entries.delete(token);
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, { value, until });
  }

  get size(): number {
    return this.#entries.size;
  }
}
