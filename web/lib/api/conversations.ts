import { callGateway, sessionIdOf } from '../gateway.ts';
import { relayJson, type ApiHandler } from './handler.ts';

/** Clears the conversation of one session (the tutor consolidates it into memory first). */
export const handleClearConversation: ApiHandler = async (request, user, gateway) =>
  relayJson(await callGateway(gateway, user, '/conversations', { method: 'DELETE', sessionId: sessionIdOf(request) }));
