/**
 * At most `maxConcurrent` agent starts at once; the rest wait first come, first served, keyed by
 * user so a user asking again keeps their place instead of queueing twice.
 */

export class SpawnQueueFull extends Error {}

type Waiter = { admit: () => void; onPosition: (position: number) => void };

export class SpawnQueue {
  private running = 0;
  /** In arrival order (a Map keeps insertion order): the first entry is admitted next. */
  private readonly waiting = new Map<string, { waiter: Waiter; admitted: Promise<() => void> }>();

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxWaiting: number,
  ) {}

  /** Starts in progress. */
  get active(): number {
    return this.running;
  }

  /** Starts waiting for a slot. */
  get queued(): number {
    return this.waiting.size;
  }

  /** 1 for the next start to be admitted; undefined when the key is not waiting. */
  position(key: string): number | undefined {
    let position = 0;
    for (const waiting of this.waiting.keys()) {
      position += 1;
      if (waiting === key) return position;
    }
    return undefined;
  }

  /**
   * Resolves with a `release` function once a slot is free. `onPosition` hears the place in the
   * queue when the caller has to wait and each time it moves up. Throws SpawnQueueFull when the
   * queue is full and the key is not in it already.
   */
  acquire(key: string, onPosition: (position: number) => void = () => {}): Promise<() => void> {
    const already = this.waiting.get(key);
    if (already) return already.admitted;
    if (this.running < this.maxConcurrent && this.waiting.size === 0) {
      this.running += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.size >= this.maxWaiting) throw new SpawnQueueFull('The spawn queue is full.');
    const { promise, resolve } = Promise.withResolvers<() => void>();
    this.waiting.set(key, { waiter: { admit: () => resolve(this.releaser()), onPosition }, admitted: promise });
    onPosition(this.waiting.size);
    return promise;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      this.admitNext();
    };
  }

  private admitNext(): void {
    const next = this.waiting.entries().next();
    if (next.done || this.running >= this.maxConcurrent) return;
    const [key, { waiter }] = next.value;
    this.waiting.delete(key);
    this.running += 1;
    waiter.admit();
    let position = 0;
    for (const { waiter: behind } of this.waiting.values()) behind.onPosition((position += 1));
  }
}
