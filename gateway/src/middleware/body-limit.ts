/**
 * Refuses a declared body over the limit before an agent is started for it. Chunked bodies are
 * counted while the proxy streams them (hono/body-limit would buffer every chunked body whole).
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

export const tooLarge = (maxBytes: number) =>
  new GatewayError(413, 'payload_too_large', `The request body is larger than ${maxBytes} bytes.`);

export type BodyLimitOptions = { maxBytes: number };

export const bodyLimit = ({ maxBytes }: BodyLimitOptions) =>
  createMiddleware<Env>(async function bodyLimit(c, next) {
    const declared = Number(c.req.header('content-length') ?? 0);
    if (declared > maxBytes) throw tooLarge(maxBytes);
    await next();
  });

/** Passes the body through unchanged, failing the stream once more than maxBytes went by. */
export function countBytes(body: ReadableStream<Uint8Array>, maxBytes: number, onExceeded: () => void): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          onExceeded();
          controller.error(tooLarge(maxBytes));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}
