import { callGateway, sessionIdOf } from '../gateway.ts';
import { z } from 'zod';
import { jsonError } from './errors.ts';
import { relayJson, type ApiHandler } from './handler.ts';

/** The student's sessions with their messages, newest first. */
export const handleListSessions: ApiHandler = async (_request, user, gateway) => relayJson(await callGateway(gateway, user, '/sessions'));

const missingSession = () => jsonError(400, { error: 'Which session? The session id is missing.', code: 'bad_request' });

/** Deletes the session named by `X-Session-ID`; the agent consolidates it into memory first. */
export const handleDeleteSession: ApiHandler = async (request, user, gateway) => {
  const sessionId = sessionIdOf(request);
  if (!sessionId) return missingSession();
  return relayJson(await callGateway(gateway, user, '/sessions', { method: 'DELETE', sessionId }));
};

const renameBody = z.object({ title: z.string().trim().min(1).max(120) });

/** Renames the session named by `X-Session-ID`. */
export const handleRenameSession: ApiHandler = async (request, user, gateway) => {
  const sessionId = sessionIdOf(request);
  if (!sessionId) return missingSession();
  const body = renameBody.safeParse(await request.json().catch(() => null));
  if (!body.success) return jsonError(400, { error: 'A session name has 1 to 120 characters.', code: 'bad_request' });
  return relayJson(
    await callGateway(gateway, user, '/sessions', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: body.data.title }),
      sessionId,
    }),
  );
};
