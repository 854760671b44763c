/**
 * Refuses a declared body over the limit before an agent is started for it. Chunked bodies are
 * counted while the proxy streams them (hono/body-limit would buffer every chunked body whole).
 * Bun's parser refuses most malformed lengths itself, but lets repeated equal ones through, joined
 * as `n, n`: refused here, since it slips past a numeric check and fetch will not send it on.
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

export const tooLarge = (maxBytes: number) =>
  new GatewayError(413, 'payload_too_large', `The request body is larger than ${maxBytes} bytes.`);

/** 413 when every value is over the limit anyway, else 400. */
function badLength(header: string, maxBytes: number): GatewayError {
  if (header.split(',').every((value) => Number(value) > maxBytes)) return tooLarge(maxBytes);
  return new GatewayError(400, 'bad_content_length', 'Send one Content-Length header with the number of bytes in the body.');
}

export type BodyLimitOptions = { maxBytes: number };

export const bodyLimit = ({ maxBytes }: BodyLimitOptions) =>
  createMiddleware<Env>(async function bodyLimit(c, next) {
    const header = c.req.header('content-length');
    const declared = Number(header ?? 0);
    if (declared > maxBytes) throw tooLarge(maxBytes);
    if (Number.isNaN(declared)) throw badLength(header!, maxBytes);
    await next();
  });

export type BodyWatch = {
  /** Fails the stream once more than this went by; undefined when HTTP framing already holds the body to its declared length. */
  maxBytes: number | undefined;
  onExceeded: () => void;
  /** Each chunk that goes by (the proxy moves its idle deadline on here). */
  onChunk: () => void;
  /** The whole body went by. */
  onEnd: () => void;
};

/** Passes the body through unchanged, telling the proxy about its progress, and failing the stream past maxBytes. */
export function watchBody(body: ReadableStream<Uint8Array>, { maxBytes, onExceeded, onChunk, onEnd }: BodyWatch): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (maxBytes !== undefined && seen > maxBytes) {
          onExceeded();
          controller.error(tooLarge(maxBytes));
          return;
        }
        onChunk();
        controller.enqueue(chunk);
      },
      flush: onEnd,
    }),
  );
}
