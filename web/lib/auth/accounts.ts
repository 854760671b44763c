/** Local accounts live in the gateway; the web app asks it, server-side, with GATEWAY_TOKEN. */
import { GatewayUnreachable, type Gateway } from '../gateway.ts';

export type GatewaySession = { email: string; sessionId: string; expiresAt: number };

/** POSTs to the gateway's `/auth/*` API; throws GatewayUnreachable when it does not answer. */
export async function accountsCall(gateway: Gateway, path: string, body: unknown): Promise<Response> {
  const doFetch = gateway.fetch ?? fetch;
  try {
    return await doFetch(`${gateway.url}/auth${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${gateway.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new GatewayUnreachable(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The student's address for the gateway's per-address rate limit: the last X-Forwarded-For entry,
 * the one added by the nearest proxy (Next.js itself sets the header to the socket's address when
 * the client sent none). Where the app is reachable directly a client can send its own header, so
 * then only the per-account limit is certain to hold; see docs.
 */
export function clientAddress(request: Request): string | undefined {
  const forwarded = request.headers.get('x-forwarded-for');
  const last = forwarded?.split(',').at(-1)?.trim();
  return last ? last.slice(0, 100) : undefined;
}
