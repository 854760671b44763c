/**
 * Runs before every page: refreshes a Supabase session (writing renewed cookies back), and sends
 * signed-out visitors to the login page and signed-in ones away from it. API routes verify the
 * user again themselves; this is only the page-level gate.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { resolveUser } from './lib/auth/resolve.ts';
import { supabaseClient, supabaseUser } from './lib/auth/supabase.ts';
import type { User } from './lib/auth/user.ts';
import { authMode } from './lib/settings.ts';

export async function proxy(request: NextRequest) {
  const mode = authMode();
  let response = NextResponse.next({ request });
  let user: User | null;
  if (mode.kind === 'supabase') {
    const client = supabaseClient(mode, request.cookies.getAll(), (cookies) => {
      for (const { name, value } of cookies) request.cookies.set(name, value);
      response = NextResponse.next({ request });
      for (const { name, value, options } of cookies) response.cookies.set(name, value, options);
    });
    user = await supabaseUser(client);
  } else {
    user = await resolveUser(request.cookies.getAll(), mode);
  }
  const path = request.nextUrl.pathname;
  if (path.startsWith('/api/') || path.startsWith('/auth/')) return response;
  const target = !user && path !== '/login' ? '/login' : user && path === '/login' ? '/' : null;
  if (!target) return response;
  const redirect = NextResponse.redirect(new URL(target, request.url));
  for (const cookie of response.cookies.getAll()) redirect.cookies.set(cookie);
  return redirect;
}

export const config = {
  // Not /api/upload: Next buffers a request body for the proxy and cuts it off at
  // proxyClientMaxBodySize (10 MB), so larger upload batches would reach the route truncated.
  // The route verifies the user itself, and the proxy passes API paths through anyway.
  matcher: ['/((?!_next/static|_next/image|favicon.ico|icon.svg|api/upload$).*)'],
};
