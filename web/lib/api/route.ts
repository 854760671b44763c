/** Binds a route's logic to the real request: cookies → verified user, settings → gateway. */
import { resolveUser } from '../auth/resolve.ts';
import { parseCookieHeader } from '../auth/user.ts';
import { gatewaySettings } from '../settings.ts';
import { authorized, type ApiHandler } from './handler.ts';

export function apiRoute(handler: ApiHandler) {
  return authorized(handler, {
    resolveUser: (request) => resolveUser(parseCookieHeader(request.headers.get('cookie'))),
    gateway: () => gatewaySettings(),
  });
}
