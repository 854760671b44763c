/**
 * `/api/admin/*`: the admin page's calls, passed to the gateway's admin API with ADMIN_TOKEN
 * added here, on the server. Only the calls the page makes are passed on (anything else is a 404),
 * only for a signed-in user listed in ADMIN_EMAILS (anyone else: the same 404 as a page that does
 * not exist), and the answer is the gateway's JSON body alone, never its headers.
 */
import type { User } from '../auth/user.ts';
import { isAdmin, type AdminSettings } from './settings.ts';

/** `<slug>-<hash>`, as the gateway makes user ids: nothing else reaches a gateway path. */
export const USER_ID = /^[a-z0-9_]{1,60}-[0-9a-f]{10}$/;
const LISTS = new Set(['agents', 'health', 'llm', 'usage']);

export type AdminDeps = {
  resolveUser: (request: Request) => Promise<User | null>;
  settings: () => AdminSettings;
  fetch?: typeof fetch;
};

const json = (status: number, error: string, code: string) => Response.json({ error, code }, { status, headers: { 'Cache-Control': 'no-store' } });

/** The gateway path for a page call, or undefined when the page makes no such call. */
export function gatewayPath(method: string, pathname: string, search: URLSearchParams): string | undefined {
  const parts = pathname.replace(/^\/api\/admin\/?/, '').split('/').filter(Boolean);
  const [kind, id, action, ...rest] = parts;
  if (!kind || rest.length > 0) return undefined;
  if (id === undefined) return method === 'GET' && LISTS.has(kind) ? `/admin/${kind}` : undefined;
  if (!USER_ID.test(id)) return undefined;
  if (kind === 'agents') {
    if (action === undefined) return method === 'GET' || method === 'DELETE' ? `/admin/agents/${id}` : undefined;
    return method === 'POST' && (action === 'stop' || action === 'restart') ? `/admin/agents/${id}/${action}` : undefined;
  }
  if (kind === 'users') {
    if (action === 'files') return method === 'GET' ? `/admin/users/${id}/files` : undefined;
    if (action === undefined && method === 'DELETE') return `/admin/users/${id}?confirm=${encodeURIComponent(search.get('confirm') ?? '')}`;
  }
  return undefined;
}

export function adminApi(deps: AdminDeps): (request: Request) => Promise<Response> {
  return async function adminRoute(request) {
    const user = await deps.resolveUser(request);
    if (!user) return json(401, 'Please sign in again.', 'unauthenticated');
    const settings = deps.settings();
    if (!isAdmin(user, settings)) return json(404, 'Not found.', 'not_found');
    const url = new URL(request.url);
    const path = gatewayPath(request.method, url.pathname, url.searchParams);
    if (!path) return json(404, 'Not found.', 'not_found');
    if (!settings.token) return json(503, 'The web app has no ADMIN_TOKEN: set it (the same value as the gateway\'s) and restart it.', 'admin_not_configured');
    let response: Response;
    try {
      response = await (deps.fetch ?? fetch)(`${settings.gatewayUrl}${path}`, {
        method: request.method,
        headers: { Authorization: `Bearer ${settings.token}` },
        cache: 'no-store',
        signal: request.signal,
      });
    } catch {
      return json(503, 'The gateway cannot be reached right now.', 'unavailable');
    }
    if (response.status === 401) {
      await response.body?.cancel();
      return json(502, 'The gateway refused the admin token: ADMIN_TOKEN must be the same for the web app and the gateway.', 'misconfigured');
    }
    const body = await response.text();
    return new Response(body, { status: response.status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
  };
}
