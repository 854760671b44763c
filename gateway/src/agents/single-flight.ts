/** Runs one task per key at a time; concurrent callers for the same key share its result. */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** The task under way for the key, if any. */
  get(key: string): Promise<T> | undefined {
    return this.inFlight.get(key);
  }

  run(key: string, task: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = task().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }
}
