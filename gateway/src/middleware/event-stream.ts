/**
 * A streamed answer (SSE) whose agent goes away mid-stream ends with an `error` event, as the agent's
 * own failures do, instead of a cut connection: the client can tell the student what happened, and
 * knows the question was kept (the agent stores it before it asks the model).
 */

const LOST_EVENT = new TextEncoder().encode(
  `event: error\ndata: ${JSON.stringify({ error: 'The tutor stopped in the middle of its answer. Your message was kept; please ask again.', code: 'agent_lost' })}\n\n`,
);

export const isEventStream = (headers: Headers): boolean => headers.get('content-type')?.startsWith('text/event-stream') === true;

/**
 * Passes the stream through chunk by chunk (pulled, so nothing piles up). A failed read ends it with
 * the `error` event and calls onLost; a client that goes away cancels the agent's stream.
 */
export function endWithErrorEvent(body: ReadableStream<Uint8Array>, onLost: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch {
          if (cancelled) return;
          onLost();
          controller.enqueue(LOST_EVENT);
          controller.close();
          return;
        }
        if (cancelled) return;
        if (read.done) controller.close();
        else controller.enqueue(read.value);
      },
      cancel(reason) {
        cancelled = true;
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
