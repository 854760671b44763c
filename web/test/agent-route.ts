/** The web app's API routes against a real agent, with a stand-in for the gateway. */
import { authorized, type ApiHandler } from '../lib/api/handler.ts';

/**
 * `handler` as signed-in Ada; the stand-in gateway sends the call on to the agent at `agentUrl()`
 * (read per call: the agent starts after the tests are defined) with `userId` as its X-User-ID.
 */
export function agentRoute(handler: ApiHandler, agentUrl: () => string, userId: string) {
  return authorized(handler, {
    resolveUser: async () => ({ email: 'ada@example.edu' }),
    gateway: () => ({
      url: 'http://gateway.test',
      token: 'unused',
      fetch: (url, init) => {
        const headers = new Headers(init.headers);
        headers.set('X-User-ID', userId);
        return fetch(url.replace('http://gateway.test', agentUrl()), { ...init, headers });
      },
    }),
  });
}
