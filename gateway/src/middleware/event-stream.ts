/**
 * A streamed answer (SSE) whose agent goes away mid-stream ends with an `error` event, as the agent's
 * own failures do, instead of a cut connection: the client can tell the student what happened, and
 * knows the question was kept (the agent stores it before it asks the model).
 */

const LOST_EVENT = new TextEncoder().encode(
  `event: error\ndata: ${JSON.stringify({ error: 'The tutor stopped in the middle of its answer. Your message was kept; please ask again.', code: 'agent_lost' })}\n\n`,
);

export const isEventStream = (headers: Headers): boolean => headers.get('content-type')?.startsWith('text/event-stream') === true;

/** Ends a stream early with the given `error` event, e.g. when its agent is paused (agents/pauses.ts). */
export type EndStream = (event: Uint8Array) => void;

/**
 * Passes the stream through chunk by chunk (pulled, so nothing piles up). A failed read ends it with
 * the `error` event and calls onLost; a client that goes away cancels the agent's stream.
 * `interrupt` is handed the function that ends the stream with another event and returns what stops
 * listening, called once the stream is over.
 */
export function endWithErrorEvent(body: ReadableStream<Uint8Array>, onLost: () => void, interrupt?: (end: EndStream) => () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let over = false;
  let stopListening = () => {};
  const finish = () => {
    over = true;
    stopListening();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (!interrupt) return;
        stopListening = interrupt((event) => {
          if (over) return;
          finish();
          controller.enqueue(event);
          controller.close();
          // The agent's side is abandoned: a read still waiting on it settles, and nothing reads further.
          reader.cancel().catch(() => {});
        });
      },
      async pull(controller) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch {
          if (over) return;
          finish();
          onLost();
          controller.enqueue(LOST_EVENT);
          controller.close();
          return;
        }
        if (over) return;
        if (read.done) {
          finish();
          controller.close();
        } else controller.enqueue(read.value);
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
