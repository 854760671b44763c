/** The only way the web app reaches an agent: through the gateway, as the verified user, with a signed assertion of it. */
import { ASSERTION_HEADER, userAssertion } from './auth/assertion.ts';
import type { User } from './auth/user.ts';
import type { GatewaySettings } from './settings.ts';

export type GatewayFetch = (url: string, init: RequestInit) => Promise<Response>;

export type Gateway = GatewaySettings & { fetch?: GatewayFetch };

export type GatewayCall = {
  method?: string;
  body?: BodyInit;
  headers?: Record<string, string>;
  sessionId?: string | null;
  signal?: AbortSignal;
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A client-chosen session id, kept only when it has the shape the agents accept. */
export function sessionIdOf(request: Request): string | null {
  const value = request.headers.get('x-session-id');
  return value && SESSION_ID.test(value) ? value : null;
}

/** Thrown when the gateway cannot be reached at all (down, wrong GATEWAY_URL). */
export class GatewayUnreachable extends Error {}

export async function callGateway(gateway: Gateway, user: User, path: string, call: GatewayCall = {}): Promise<Response> {
  const headers: Record<string, string> = {
    ...call.headers,
    Authorization: `Bearer ${gateway.token}`,
    'X-User-Email': user.email,
  };
  const assertion = await userAssertion(user, gateway.assertionSecret);
  if (assertion) headers[ASSERTION_HEADER] = assertion;
  if (call.sessionId) headers['X-Session-ID'] = call.sessionId;
  const doFetch = gateway.fetch ?? fetch;
  try {
    return await doFetch(`${gateway.url}${path}`, {
      method: call.method ?? 'GET',
      headers,
      body: call.body,
      signal: call.signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (call.signal?.aborted) throw error;
    throw new GatewayUnreachable(error instanceof Error ? error.message : String(error));
  }
}
