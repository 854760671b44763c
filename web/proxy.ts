/**
 * Runs before every page and API route: refuses state-changing requests from other sites (CSRF),
 * refreshes a Supabase session (writing renewed cookies back), and sends signed-out visitors to
 * the login page and signed-in ones away from it. API routes verify the user again themselves;
 * this is only the page-level gate.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { crossSiteRefusal, sameOriginOrSafe } from './lib/auth/csrf.ts';
import { resolveUser } from './lib/auth/resolve.ts';
import { supabaseClient, supabaseUser } from './lib/auth/supabase.ts';
import type { User } from './lib/auth/user.ts';
import { authMode, publicUrl } from './lib/settings.ts';

/** Pages for visitors who are not signed in; a signed-in one is sent on to the app. */
const SIGNED_OUT_PAGES = new Set(['/login', '/signup', '/forgot-password']);

export async function proxy(request: NextRequest) {
  if (!sameOriginOrSafe(request, publicUrl())) return crossSiteRefusal();
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
  // Invite links work signed in or not: a student may be setting a new password.
  if (path.startsWith('/api/') || path.startsWith('/auth/') || path.startsWith('/invite/')) return response;
  const signedOutPage = SIGNED_OUT_PAGES.has(path);
  const target = !user && !signedOutPage ? '/login' : user && signedOutPage ? '/' : null;
  if (!target) return response;
  const redirect = NextResponse.redirect(new URL(target, request.url));
  for (const cookie of response.cookies.getAll()) redirect.cookies.set(cookie);
  return redirect;
}

export const config = {
  // Not /api/upload: Next buffers a request body for the proxy and cuts it off at
  // proxyClientMaxBodySize (10 MB), so larger upload batches would reach the route truncated.
  // The route verifies the user and the request's origin itself (lib/api/route.ts).
  matcher: ['/((?!_next/static|_next/image|favicon.ico|icon.svg|api/upload$).*)'],
};
