/** Gateway failures turned into short sentences a student understands, as JSON. */
import { withCookieCleared } from '../auth/local.ts';

export type StudentErrorCode = 'starting' | 'too_large' | 'not_found' | 'bad_request' | 'unavailable' | 'misconfigured' | 'failed' | 'unauthenticated';

export type StudentError = { error: string; code: StudentErrorCode; retryAfter?: number };

export const MESSAGES = {
  starting: 'Your tutor is starting… This can take a few seconds the first time. Please try again.',
  tooLarge: 'That file is larger than 5 MB.',
  notFound: 'That item could not be found.',
  badRequest: 'That request could not be understood.',
  unavailable: 'Your tutor stopped responding. Please try again.',
  misconfigured: 'The tutor service refused this app. Please tell your administrator (check GATEWAY_TOKEN).',
  unreachable: 'The tutor service cannot be reached right now. Please try again in a moment.',
  noModel: 'Your tutor has no AI model configured yet. Please tell your administrator (config.json needs an LLM provider key).',
  modelFailed: 'Your tutor’s AI model did not answer. Please try again.',
  tooSlow: 'Your tutor took too long to answer. Please try again.',
  failed: 'Something went wrong. Please try again.',
  unauthenticated: 'Please sign in again.',
} as const;

export function jsonError(status: number, body: StudentError, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { 'Cache-Control': 'no-store', ...headers } });
}

export function unauthenticated(): Response {
  return jsonError(401, { error: MESSAGES.unauthenticated, code: 'unauthenticated' });
}

/** The `code` of a JSON error body, from the gateway or the agent behind it. */
async function codeOf(response: Response): Promise<string | undefined> {
  const body: unknown = await response.json().catch(() => undefined);
  return body && typeof body === 'object' && 'code' in body && typeof body.code === 'string' ? body.code : undefined;
}

/** Maps a failed gateway response; the gateway's own wording is meant for operators, not students. */
export async function fromGateway(response: Response): Promise<Response> {
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  const code = await codeOf(response);
  // The agent answered, so it is not starting: waiting would not help.
  if (code === 'no_provider') return jsonError(503, { error: MESSAGES.noModel, code: 'misconfigured' });
  if (code === 'llm_failed') return jsonError(502, { error: MESSAGES.modelFailed, code: 'failed' });
  // The agent got the message and may still be working on it: resending would ask it twice.
  if (code === 'upstream_timeout') return jsonError(504, { error: MESSAGES.tooSlow, code: 'failed' });
  // Signed out elsewhere, or the account was disabled: the cookie outlived its gateway session.
  if (code === 'session_ended') return withCookieCleared(unauthenticated());
  switch (response.status) {
    // 429: the gateway's spawn queue is full; waiting is the answer too.
    case 429:
    case 503:
    case 504:
      return jsonError(503, { error: MESSAGES.starting, code: 'starting', retryAfter: retryAfter ?? 2 }, { 'Retry-After': String(retryAfter ?? 2) });
    case 413:
      return jsonError(413, { error: MESSAGES.tooLarge, code: 'too_large' });
    case 404:
      return jsonError(404, { error: MESSAGES.notFound, code: 'not_found' });
    case 400:
      return jsonError(400, { error: MESSAGES.badRequest, code: 'bad_request' });
    case 403:
      // The agent's answer to a path outside the workspace.
      return jsonError(403, { error: MESSAGES.notFound, code: 'not_found' });
    case 401:
      return jsonError(502, { error: MESSAGES.misconfigured, code: 'misconfigured' });
    case 502:
      return jsonError(502, { error: MESSAGES.unavailable, code: 'unavailable' });
    default:
      return jsonError(502, { error: MESSAGES.failed, code: 'failed' });
  }
}

export function unreachable(): Response {
  return jsonError(503, { error: MESSAGES.unreachable, code: 'unavailable', retryAfter: 3 }, { 'Retry-After': '3' });
}
