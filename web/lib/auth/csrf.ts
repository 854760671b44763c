/**
 * CSRF protection for every state-changing request: its Origin must be this app, either the
 * configured PUBLIC_URL or the host the request was sent to. Browsers send Origin with every
 * POST, PUT, PATCH and DELETE, so a request without one did not come from a page of ours.
 */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sameOriginOrSafe(request: Request, publicUrl: string | undefined): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const origin = request.headers.get('origin');
  if (!origin || !URL.canParse(origin)) return false;
  if (publicUrl && origin === publicUrl) return true;
  // The Host header is the one the browser addressed; a cross-site page cannot make it ours and its own Origin at once.
  return new URL(origin).host === request.headers.get('host');
}

export function crossSiteRefusal(): Response {
  return Response.json({ error: 'This request did not come from this app.', code: 'cross_site' }, { status: 403, headers: { 'Cache-Control': 'no-store' } });
}
