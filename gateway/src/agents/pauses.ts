/**
 * Agents the engine reports paused (`docker pause`: every process frozen, the container still
 * "running"). A frozen agent accepts connections and never answers, so without this its student
 * would wait out a timeout per request and a chat streaming at that moment would hang. Instead new
 * requests are refused at once with 503 `agent_paused`, requests and streams in flight end when the
 * pause is reported, and `unpause` serves again. Fed by the route table from the runtime's events
 * and adoption scans; keyed by the platform's instance id.
 */
import { GatewayError } from '../errors.ts';

/** A pause is an operator's act (a backup, an investigation): a short retry, not a tight loop. */
const RETRY_AFTER_SECONDS = 10;

const MESSAGE = 'The tutor is paused by the administrator; your message was kept. Please try again shortly.';

export const agentPaused = (): GatewayError => new GatewayError(503, 'agent_paused', MESSAGE, { 'Retry-After': String(RETRY_AFTER_SECONDS) });

/** The SSE `error` event a stream in flight ends with when its agent is paused. */
export const PAUSED_EVENT = new TextEncoder().encode(`event: error\ndata: ${JSON.stringify({ error: MESSAGE, code: 'agent_paused' })}\n\n`);

/**
 * One agent's listeners in numbered slots; a finished request clears its slot for the next one.
 * Not a Set: with each request's listener (a closure holding the request's state) added to and
 * deleted from a long-lived Set, JSC's allocator and collector threads spent about 30 µs more per
 * proxied request, a quarter of the gateway's CPU; slots cleared in place cost nothing measurable
 * (docs/bench.md, "What the profile showed"). Measured by swapping one for the other, not traced
 * inside JSC.
 */
class Listeners {
  private readonly slots: ((() => void) | undefined)[] = [];
  private readonly free: number[] = [];

  add(listener: () => void): () => void {
    const slot = this.free.pop() ?? this.slots.length;
    this.slots[slot] = listener;
    return () => {
      // Once only: a second call must not free a slot another listener has taken since.
      if (this.slots[slot] !== listener) return;
      this.slots[slot] = undefined;
      this.free.push(slot);
    };
  }

  callAll(): void {
    for (const listener of this.slots) listener?.();
  }
}

export class Pauses {
  private readonly paused = new Set<string>();
  /** What to end when an agent is paused: the requests and streams in flight to it. */
  private readonly listeners = new Map<string, Listeners>();

  has(instanceId: string): boolean {
    return this.paused.has(instanceId);
  }

  /** Records the pause and ends everything in flight to the agent. */
  pause(instanceId: string): void {
    this.paused.add(instanceId);
    const listeners = this.listeners.get(instanceId);
    if (!listeners) return;
    this.listeners.delete(instanceId);
    listeners.callAll();
  }

  resume(instanceId: string): void {
    this.paused.delete(instanceId);
  }

  /** The agent is gone (stopped, removed): nothing of it is kept. */
  forget(instanceId: string): void {
    this.paused.delete(instanceId);
    this.listeners.delete(instanceId);
  }

  /**
   * Calls `listener` once if the agent is paused before the returned function is called. The slots of
   * a running agent are kept while it runs, so a request costs no allocation but its closures.
   */
  onPause(instanceId: string, listener: () => void): () => void {
    let listeners = this.listeners.get(instanceId);
    if (!listeners) this.listeners.set(instanceId, (listeners = new Listeners()));
    return listeners.add(listener);
  }
}
