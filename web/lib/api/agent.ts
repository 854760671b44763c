import { callGateway } from '../gateway.ts';
import { SSE_HEADERS } from './chat.ts';
import { fromGateway } from './errors.ts';
import type { ApiHandler } from './handler.ts';

/** Starts the student's tutor without waiting: called as soon as the app opens with a valid session. */
export const handleAgentStart: ApiHandler = async (_request, user, gateway) => {
  const upstream = await callGateway(gateway, user, '/agent/start', { method: 'POST' });
  if (!upstream.ok) return fromGateway(upstream);
  return Response.json(await upstream.json(), { status: 202, headers: { 'Cache-Control': 'no-store' } });
};

/** The tutor's start as server-sent events (`event: state`, data `{"state": …}`) until it runs or fails. */
export const handleAgentEvents: ApiHandler = async (request, user, gateway) => {
  const upstream = await callGateway(gateway, user, '/agent/events', { headers: { Accept: 'text/event-stream' }, signal: request.signal });
  if (!upstream.ok || !upstream.body) return fromGateway(upstream);
  return new Response(upstream.body, { headers: SSE_HEADERS });
};
