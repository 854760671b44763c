/** Chat as server-sent events: `delta` events while the answer grows, then `done` (or `error`). */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { errorBody } from './errors.ts';

type Outcome = { ok: true; response: string } | { ok: false; error: unknown };

/**
 * Starts the reply and answers with SSE once the first text arrives. A reply that fails before any
 * text was sent is thrown, so it becomes an ordinary error response with a real status.
 */
export async function streamReply(c: Context, reply: (onDelta: (text: string) => void) => Promise<string>): Promise<Response> {
  const pending: string[] = [];
  let wake: (() => void) | undefined;
  let outcome: Outcome | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  const waitForNews = () => new Promise<void>((resolve) => (wake = resolve));

  void reply((text) => {
    pending.push(text);
    signal();
  }).then(
    (response) => {
      outcome = { ok: true, response };
      signal();
    },
    (error: unknown) => {
      outcome = { ok: false, error };
      signal();
    },
  );

  while (pending.length === 0 && !outcome) await waitForNews();
  if (pending.length === 0 && outcome && !outcome.ok) throw outcome.error;

  c.header('Cache-Control', 'no-cache');
  return streamSSE(c, async (stream) => {
    for (;;) {
      if (pending.length > 0) {
        await stream.writeSSE({ event: 'delta', data: JSON.stringify({ text: pending.splice(0).join('') }) });
        continue;
      }
      if (outcome) break;
      await waitForNews();
    }
    if (outcome.ok) {
      await stream.writeSSE({ event: 'done', data: JSON.stringify({ response: outcome.response }) });
    } else {
      await stream.writeSSE({ event: 'error', data: JSON.stringify(errorBody(outcome.error).body) });
    }
  });
}
