/** The `calculator` tool: exact arithmetic, units, statistics and algebra through mathjs, bounded in size and time. */
import type { CalculatorReady, CalculatorRequest, CalculatorResponse } from './calculator-worker.ts';

/** Long enough for any school exercise, short enough that parsing cannot take long. */
export const MAX_EXPRESSION_CHARS = 1000;
/** A runaway expression is stopped (its worker terminated) after this long. */
export const CALCULATION_TIMEOUT_MS = 3000;
/** Loading mathjs into a new worker; slow only on a busy machine. */
const LOAD_TIMEOUT_MS = 30_000;
const MAX_RESULT_CHARS = 4000;
/**
 * A calculation that makes the process grow by more than this is stopped too: mathjs can build huge
 * matrices (`resize([1], [3e8])`, nested `kron`) within the time limit, and the container's memory
 * limit (1 GiB) would kill the whole agent. Bun's workers take no heap limit, so the process is watched.
 */
const MAX_MEMORY_GROWTH_BYTES = 256 * 1024 * 1024;
const MEMORY_CHECK_MS = 20;
/** mathjs takes about 100 MB; a worker unused this long is stopped to give it back. */
const IDLE_MS = 5 * 60_000;

export type CalculatorOperation = CalculatorRequest['operation'];

type Pending = { resolve: (response: CalculatorResponse) => void; timer: Timer; watch: Timer };
type Running = { worker: Worker; ready: Promise<boolean> };

export class Calculator {
  #running: Running | undefined;
  #next = 0;
  #idle: Timer | undefined;
  readonly #pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs = CALCULATION_TIMEOUT_MS) {}

  #start(): Running {
    if (this.#running) return this.#running;
    // Not referenced, and small-heap: the agent must be able to exit while the worker idles, and keep its memory low.
    const worker = new Worker(new URL('./calculator-worker.ts', import.meta.url), { ref: false, smol: true });
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), LOAD_TIMEOUT_MS);
      worker.onmessage = (event: MessageEvent<CalculatorResponse | CalculatorReady>) => {
        const data = event.data;
        if ('ready' in data) {
          clearTimeout(timer);
          resolve(true);
          return;
        }
        const pending = this.#pending.get(data.id);
        if (!pending) return;
        clearTimeout(pending.timer);
        clearInterval(pending.watch);
        this.#pending.delete(data.id);
        pending.resolve(data);
      };
    });
    this.#running = { worker, ready };
    return this.#running;
  }

  /** Stops a worker stuck in a calculation; every call in it fails, the next call starts a new one. */
  #kill(reason: string): void {
    this.#running?.worker.terminate();
    this.#running = undefined;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      clearInterval(pending.watch);
      pending.resolve({ id, ok: false, error: reason });
    }
    this.#pending.clear();
  }

  /** The tool's answer for the model: the result, or a sentence starting with `Error:`. */
  async calculate(operation: CalculatorOperation, expression: string, variable = 'x'): Promise<string> {
    if (expression.length > MAX_EXPRESSION_CHARS) return `Error: the expression is longer than ${MAX_EXPRESSION_CHARS} characters; split it up`;
    const running = this.#start();
    if (!(await running.ready)) {
      this.#kill('the calculator did not start');
      return 'Error: the calculator did not start; try again';
    }
    const id = ++this.#next;
    const response = await new Promise<CalculatorResponse>((resolve) => {
      const timer = setTimeout(() => this.#kill(`the calculation took longer than ${this.timeoutMs / 1000} s and was stopped`), this.timeoutMs);
      // Growth from the lowest point seen: memory of a worker stopped just before may still be on its way back.
      let low = process.memoryUsage.rss();
      const watch = setInterval(() => {
        const rss = process.memoryUsage.rss();
        low = Math.min(low, rss);
        if (rss - low > MAX_MEMORY_GROWTH_BYTES) this.#kill('the calculation needed too much memory and was stopped');
      }, MEMORY_CHECK_MS);
      this.#pending.set(id, { resolve, timer, watch });
      running.worker.postMessage({ id, operation, expression, variable } satisfies CalculatorRequest);
    });
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      if (this.#pending.size === 0) this.#kill('idle');
    }, IDLE_MS);
    this.#idle.unref();
    if (!response.ok) return `Error: ${response.error}`;
    return response.result.length > MAX_RESULT_CHARS ? `${response.result.slice(0, MAX_RESULT_CHARS)}… (result cut)` : response.result;
  }
}
