/** The one JSON error shape of the gateway, and the exception that carries it. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

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

const CODES_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  502: 'agent_unreachable',
  503: 'agent_unavailable',
  504: 'agent_timeout',
};

/** Turns anything thrown into the JSON shape; unexpected errors are logged, never shown. */
export function toErrorResponse(err: unknown, c: Context): Response {
  const requestId: string = c.get('requestId') ?? '';
  if (err instanceof GatewayError) {
    return c.json<ErrorBody>({ error: err.message, code: err.code, requestId }, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = CODES_BY_STATUS[status] ?? 'error';
    return c.json<ErrorBody>({ error: err.message || 'The request failed.', code, requestId }, status);
  }
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', requestId, error: String(err) }));
  return c.json<ErrorBody>({ error: 'The gateway failed to handle the request.', code: 'internal_error', requestId }, 500);
}

export function notFoundResponse(c: Context): Response {
  return toErrorResponse(new GatewayError(404, 'not_found', `No route for ${c.req.method} ${c.req.path}.`), c);
}
