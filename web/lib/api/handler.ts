import type { User } from '../auth/user.ts';
import { GatewayUnreachable, type Gateway } from '../gateway.ts';
import { fromGateway, jsonError, unauthenticated, unreachable } from './errors.ts';
import { MESSAGES } from './shared.ts';

/** A route's logic, free of Next's request context so tests can call it with a fake gateway. */
export type ApiHandler = (request: Request, user: User, gateway: Gateway) => Promise<Response>;

export type ApiDeps = {
  resolveUser: (request: Request) => Promise<User | null>;
  gateway: () => Gateway;
};

/** Refuses anonymous calls with 401 JSON and turns a missing gateway into a student-sized message. */
export function authorized(handler: ApiHandler, deps: ApiDeps): (request: Request) => Promise<Response> {
  return async function authorizedRoute(request) {
    const user = await deps.resolveUser(request);
    if (!user) return unauthenticated();
    try {
      return await handler(request, user, deps.gateway());
    } catch (error) {
      if (error instanceof GatewayUnreachable) return unreachable();
      if (request.signal.aborted) return jsonError(499, { error: MESSAGES.failed, code: 'failed' });
      console.error('api route failed', error);
      return jsonError(500, { error: MESSAGES.failed, code: 'failed' });
    }
  };
}

/** Passes a JSON answer through, or maps the gateway's error. */
export async function relayJson(response: Response): Promise<Response> {
  if (!response.ok) return fromGateway(response);
  return Response.json(await response.json(), { headers: { 'Cache-Control': 'no-store' } });
}
