/** Binds the admin API to the real request: cookies → verified user, the environment → settings. */
import { crossSiteRefusal, sameOriginOrSafe } from '../auth/csrf.ts';
import { resolveUser } from '../auth/resolve.ts';
import { parseCookieHeader } from '../auth/user.ts';
import { publicUrl } from '../settings.ts';
import { adminApi } from './api.ts';
import { adminSettings } from './settings.ts';

const route = adminApi({
  resolveUser: (request) => resolveUser(parseCookieHeader(request.headers.get('cookie'))),
  settings: () => adminSettings(),
});

export function adminRoute(request: Request): Promise<Response> {
  return sameOriginOrSafe(request, publicUrl()) ? route(request) : Promise.resolve(crossSiteRefusal());
}
