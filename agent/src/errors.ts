/** The agent's error responses: every one is `{error, code}`, built in one place (`toErrorResponse`). */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode, UnofficialStatusCode } from 'hono/utils/http-status';
import { LlmError, StoppedError } from './llm/provider.ts';
import { NO_PROVIDER_MESSAGE } from './config.ts';

/** A request the agent refuses; `code` is for programs, `message` for people. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    message: string,
    readonly code: string = codeForStatus(status),
  ) {
    super(status, { message });
  }
}

export class NoProviderError extends Error {
  readonly code = 'no_provider';
  constructor() {
    super(NO_PROVIDER_MESSAGE);
  }
}

/** The code of an error thrown with only a status (e.g. by the file routes). */
function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden_path',
    404: 'not_found',
    405: 'method_not_allowed',
    409: 'conflict',
    413: 'too_large',
  };
  return codes[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

export type ErrorBody = { error: string; code: string; resetsAt?: string; scope?: string };

/** Maps anything a route throws onto a status and the one error shape. */
export function errorBody(error: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (error instanceof ApiError) return { status: error.status, body: { error: error.message, code: error.code } };
  // The codes let the web app tell "no model configured" from a tutor that is still starting (both 503).
  if (error instanceof NoProviderError) return { status: 503, body: { error: error.message, code: error.code } };
  // The gateway's relay refused: an allowance is used up, or the student asks too fast; resetsAt says until when, scope whose.
  if (error instanceof LlmError && error.refusal) {
    const { resetsAt, scope } = error.refusal;
    return { status: 429, body: { error: error.message, code: error.code, ...(resetsAt ? { resetsAt } : {}), ...(scope ? { scope } : {}) } };
  }
  if (error instanceof LlmError) return { status: 502, body: { error: error.message, code: error.code } };
  // nginx's "client closed request": nobody reads it, but a log line says what happened.
  if (error instanceof StoppedError) return { status: 499 as UnofficialStatusCode, body: { error: error.message, code: 'stopped' } };
  if (error instanceof HTTPException) return { status: error.status, body: { error: error.message, code: codeForStatus(error.status) } };
  // A bug, not bad input: logged whole here, answered without a stack trace.
  console.error(error);
  return { status: 500, body: { error: 'internal error', code: 'internal_error' } };
}
