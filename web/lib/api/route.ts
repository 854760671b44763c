/** Binds a route's logic to the real request: cookies → verified user, settings → gateway. */
import { crossSiteRefusal, sameOriginOrSafe } from '../auth/csrf.ts';
import { resolveUser } from '../auth/resolve.ts';
import { parseCookieHeader } from '../auth/user.ts';
import { gatewaySettings, publicUrl } from '../settings.ts';
import { authorized, type ApiHandler } from './handler.ts';

export function apiRoute(handler: ApiHandler) {
  const route = authorized(handler, {
    resolveUser: (request) => resolveUser(parseCookieHeader(request.headers.get('cookie'))),
    gateway: () => gatewaySettings(),
  });
  // The proxy checks origins too, but it does not run for /api/upload (see proxy.ts).
  return (request: Request) => (sameOriginOrSafe(request, publicUrl()) ? route(request) : Promise.resolve(crossSiteRefusal()));
}
