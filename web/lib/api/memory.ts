import { callGateway } from '../gateway.ts';
import { relayJson, type ApiHandler } from './handler.ts';

/** MEMORY.md and HISTORY.md, as the tutor keeps them. */
export const handleMemory: ApiHandler = async (_request, user, gateway) => relayJson(await callGateway(gateway, user, '/memory'));
