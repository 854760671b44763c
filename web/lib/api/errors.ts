/** Gateway failures turned into short sentences a student understands, as JSON. */
import { withCookieCleared } from '../auth/local.ts';
import { failedAnswerMessage, MESSAGES, quotaMessage, type ErrorCode } from './shared.ts';

/** `reason` carries the agent's or gateway's own code, so the browser knows e.g. whether the agent kept the question. */
export type StudentError = { error: string; code: Exclude<ErrorCode, 'offline'>; retryAfter?: number; reason?: string };

export function jsonError(status: number, body: StudentError, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { 'Cache-Control': 'no-store', ...headers } });
}

export function unauthenticated(): Response {
  return jsonError(401, { error: MESSAGES.unauthenticated, code: 'unauthenticated' });
}

/** What a JSON error body from the gateway or the agent behind it says: its `code`, and for the relay's refusals when and whose. */
async function bodyOf(response: Response): Promise<{ code: string | undefined; resetsAt?: unknown; scope?: unknown }> {
  const body: unknown = await response.json().catch(() => undefined);
  if (!body || typeof body !== 'object') return { code: undefined };
  return {
    code: 'code' in body && typeof body.code === 'string' ? body.code : undefined,
    resetsAt: 'resetsAt' in body ? body.resetsAt : undefined,
    scope: 'scope' in body ? body.scope : undefined,
  };
}

/**
 * The agent answered with one of its failures, so it is not starting and waiting would not help: the
 * status and code the browser gets (the sentence is failedAnswerMessage's). At the per-minute limit a
 * retry at once would be refused again, so the student is told to wait.
 */
const AGENT_FAILURES: Record<string, [number, StudentError['code']]> = {
  llm_rate_limited: [429, 'quota'],
  no_provider: [503, 'misconfigured'],
  llm_failed: [502, 'failed'],
  llm_timeout: [504, 'failed'],
  no_vision: [400, 'bad_request'],
};

/** Maps a failed gateway response; the gateway's own wording is meant for operators, not students. */
export async function fromGateway(response: Response): Promise<Response> {
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  const { code, resetsAt, scope } = await bodyOf(response);
  const reply = (status: number, body: StudentError, headers?: Record<string, string>) => jsonError(status, code ? { ...body, reason: code } : body, headers);
  if (code === 'llm_quota') return reply(429, { error: quotaMessage(resetsAt, scope), code: 'quota' });
  const failure = code !== undefined && Object.hasOwn(AGENT_FAILURES, code) ? AGENT_FAILURES[code] : undefined;
  if (failure) return reply(failure[0], { error: failedAnswerMessage(code), code: failure[1] });
  // The agent got the message and may still be working on it: resending would ask it twice.
  if (code === 'upstream_timeout') return reply(504, { error: MESSAGES.tooSlow, code: 'failed' });
  // It missed a deadline and does not answer its health check either: not starting, so no retry by itself.
  if (code === 'agent_unresponsive') return reply(504, { error: MESSAGES.unavailable, code: 'unavailable' });
  // An operator froze it: not starting, and a request cut off in flight may have reached it, so no retry by itself.
  if (code === 'agent_paused') {
    return reply(503, { error: MESSAGES.paused, code: 'unavailable', retryAfter }, retryAfter ? { 'Retry-After': String(retryAfter) } : {});
  }
  // Signed out elsewhere, or the account was disabled: the cookie outlived its gateway session.
  if (code === 'session_ended') return withCookieCleared(unauthenticated());
  if (code === 'agent_exited') {
    return reply(503, { error: MESSAGES.cannotStart, code: 'cannot_start', retryAfter }, retryAfter ? { 'Retry-After': String(retryAfter) } : {});
  }
  if (code === 'forbidden_path') return reply(403, { error: MESSAGES.forbidden, code: 'forbidden' });
  // An agent without an optional endpoint (the real nanobot image) answers 405, or a bare 404 with no code.
  if (response.status === 405 || (response.status === 404 && !code)) return reply(404, { error: MESSAGES.unsupported, code: 'unsupported' });
  switch (response.status) {
    // 429: the gateway's spawn queue is full; waiting is the answer too.
    case 429:
    case 503:
    case 504:
      return reply(503, { error: MESSAGES.starting, code: 'starting', retryAfter: retryAfter ?? 2 }, { 'Retry-After': String(retryAfter ?? 2) });
    case 413:
      return reply(413, { error: MESSAGES.tooLarge, code: 'too_large' });
    case 404:
      return reply(404, { error: MESSAGES.notFound, code: 'not_found' });
    case 409:
      return reply(409, { error: MESSAGES.conflict, code: 'conflict' });
    case 400:
      return reply(400, { error: MESSAGES.badRequest, code: 'bad_request' });
    case 403:
      // The agent's answer to a path outside the workspace.
      return reply(403, { error: MESSAGES.notFound, code: 'not_found' });
    case 401:
      return reply(502, { error: MESSAGES.misconfigured, code: 'misconfigured' });
    case 502:
      return reply(502, { error: MESSAGES.unavailable, code: 'unavailable' });
    default:
      return reply(502, { error: MESSAGES.failed, code: 'failed' });
  }
}

export function unreachable(): Response {
  return jsonError(503, { error: MESSAGES.unreachable, code: 'unavailable', retryAfter: 3 }, { 'Retry-After': '3' });
}
