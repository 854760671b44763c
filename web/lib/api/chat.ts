import { z } from 'zod';
import { callGateway, sessionIdOf } from '../gateway.ts';
import { fromGateway, jsonError } from './errors.ts';
import type { ApiHandler } from './handler.ts';
import { MAX_MESSAGE_CHARS, MESSAGES } from './shared.ts';

const chatBody = z.object({
  message: z.string().trim().min(1).max(MAX_MESSAGE_CHARS),
  /** Workspace paths of images the student uploaded first; the agent checks they are uploaded images. */
  images: z.array(z.string().min(1).max(1024)).max(8).optional(),
  replaceLastTurn: z.boolean().optional(),
});

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  // Reverse proxies (nginx) would otherwise hold the stream back until it ends.
  'X-Accel-Buffering': 'no',
};

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Streams the tutor's answer to the browser as it arrives. The browser's abort (the Stop button)
 * travels on to the gateway through the request's signal.
 */
export const handleChat: ApiHandler = async (request, user, gateway) => {
  const body = chatBody.safeParse(await request.json().catch(() => null));
  if (!body.success) {
    const tooLong = body.error.issues.some((issue) => issue.path[0] === 'message' && issue.code === 'too_big');
    return jsonError(400, { error: tooLong ? MESSAGES.tooLong : 'Type a message first.', code: 'bad_request' });
  }
  const upstream = await callGateway(gateway, user, '/chat', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify({
      message: body.data.message,
      ...(body.data.images?.length ? { images: body.data.images } : {}),
      ...(body.data.replaceLastTurn ? { replace_last_turn: true } : {}),
    }),
    sessionId: sessionIdOf(request),
    signal: request.signal,
  });
  if (!upstream.ok) return fromGateway(upstream);
  if (upstream.headers.get('content-type')?.includes('text/event-stream') && upstream.body) {
    return new Response(upstream.body, { headers: SSE_HEADERS });
  }
  // An agent that ignores Accept answers {"response"} in one piece; the browser still gets one stream format.
  const { response } = (await upstream.json()) as { response?: string };
  const text = response ?? '';
  return new Response(sse('delta', { text }) + sse('done', { response: text }), { headers: SSE_HEADERS });
};
