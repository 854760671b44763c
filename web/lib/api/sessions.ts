import { callGateway, sessionIdOf } from '../gateway.ts';
import { jsonError } from './errors.ts';
import { relayJson, type ApiHandler } from './handler.ts';

/** The student's sessions with their messages, newest first. */
export const handleListSessions: ApiHandler = async (_request, user, gateway) => relayJson(await callGateway(gateway, user, '/sessions'));

/** Deletes the session named by `X-Session-ID`. */
export const handleDeleteSession: ApiHandler = async (request, user, gateway) => {
  const sessionId = sessionIdOf(request);
  if (!sessionId) return jsonError(400, { error: 'Which session? The session id is missing.', code: 'bad_request' });
  return relayJson(await callGateway(gateway, user, '/sessions', { method: 'DELETE', sessionId }));
};
