/** The one JSON error shape of the gateway, and the exception that carries it. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Log } from './log.ts';

export type ErrorBody = { error: string; code: string; requestId: string };

export class GatewayError extends HTTPException {
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(status, { message });
    this.code = code;
    this.headers = headers;
  }
}

/**
 * Turns anything thrown into the JSON shape; unexpected errors are logged, never shown. Every error
 * the gateway raises itself is a GatewayError with its code; any other HTTPException (from Hono)
 * keeps its status under the generic code `error`.
 */
export const errorHandler = (log: Log) =>
  function toErrorResponse(err: unknown, c: Context): Response {
    const requestId: string = c.get('requestId') ?? '';
    if (err instanceof GatewayError) {
      return c.json<ErrorBody>({ error: err.message, code: err.code, requestId }, err.status, err.headers);
    }
    if (err instanceof HTTPException) {
      return c.json<ErrorBody>({ error: err.message || 'The request failed.', code: 'error', requestId }, err.status as ContentfulStatusCode);
    }
    log({ level: 'error', msg: 'unhandled error', requestId, error: String(err) });
    return c.json<ErrorBody>({ error: 'The gateway failed to handle the request.', code: 'internal_error', requestId }, 500);
  };

export function notFoundResponse(c: Context): Response {
  const requestId: string = c.get('requestId') ?? '';
  return c.json<ErrorBody>({ error: `No route for ${c.req.method} ${c.req.path}.`, code: 'not_found', requestId }, 404);
}
