/** Sign-in, magic link, callback and sign-out, for whichever auth mode the deployment runs. */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import type { AuthMode } from '../settings.ts';
import { localSessionCookie, passwordMatches, signLocalSession } from './local.ts';
import { supabaseClient, type CookieWrite } from './supabase.ts';
import { emailSchema, parseCookieHeader } from './user.ts';

const credentials = z.object({ email: emailSchema, password: z.string().min(1).max(1024) });
const magicLinkBody = z.object({ email: emailSchema });

function fail(status: number, error: string): NextResponse {
  return NextResponse.json({ error }, { status });
}

/**
 * Where emailed links lead: the configured PUBLIC_URL, else the address this request came to.
 * Never X-Forwarded-Host: a client could send any host and have a sign-in link point there.
 */
export function publicOrigin(request: Request, configured: string | undefined): string {
  return configured ?? new URL(request.url).origin;
}

/**
 * A redirect to a path of this app. Without PUBLIC_URL it stays relative, so the browser resolves
 * it against the address it used; the server's own URL (http://0.0.0.0:3000 in Docker) may not be.
 */
function redirectTo(path: string, configured: string | undefined): NextResponse {
  return configured ? NextResponse.redirect(`${configured}${path}`) : new NextResponse(null, { status: 307, headers: { Location: path } });
}

/** Whether the browser used HTTPS, also behind a TLS-terminating proxy; only decides the cookie's Secure flag. */
function isHttps(request: Request): boolean {
  const forwarded = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim();
  return (forwarded ?? new URL(request.url).protocol.replace(':', '')) === 'https';
}

/** A Supabase client for this request whose cookie writes land on the response built afterwards. */
function supabaseFor(request: Request, mode: Extract<AuthMode, { kind: 'supabase' }>) {
  const writes: CookieWrite[] = [];
  const client = supabaseClient(mode, parseCookieHeader(request.headers.get('cookie')), (cookies) => writes.push(...cookies));
  const apply = (response: NextResponse) => {
    for (const { name, value, options } of writes) response.cookies.set(name, value, options);
    return response;
  };
  return { client, apply };
}

export async function signIn(request: Request, mode: AuthMode): Promise<NextResponse> {
  if (mode.kind === 'disabled') return fail(503, mode.reason);
  const body = credentials.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, 'Enter a valid email address and a password.');
  const { email, password } = body.data;
  if (mode.kind === 'local') {
    if (!passwordMatches(password, mode.password)) return fail(401, 'That password is not right.');
    const response = NextResponse.json({ email });
    response.cookies.set(localSessionCookie(await signLocalSession(email, mode.secret), isHttps(request)));
    return response;
  }
  const { client, apply } = supabaseFor(request, mode);
  const { error } = await client.auth.signInWithPassword({ email, password });
  if (error) return fail(401, 'That email and password do not match an account.');
  return apply(NextResponse.json({ email }));
}

export async function sendMagicLink(request: Request, mode: AuthMode, configuredUrl: string | undefined): Promise<NextResponse> {
  if (mode.kind !== 'supabase') return fail(400, 'Magic links need Supabase sign-in.');
  const body = magicLinkBody.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, 'Enter a valid email address.');
  const { client, apply } = supabaseFor(request, mode);
  const { error } = await client.auth.signInWithOtp({
    email: body.data.email,
    options: { emailRedirectTo: `${publicOrigin(request, configuredUrl)}/auth/callback` },
  });
  if (error) return fail(502, 'The sign-in link could not be sent. Please try again.');
  return apply(NextResponse.json({ sent: true }));
}

/** Where a magic link (or an email confirmation) lands: exchange the code for a session cookie. */
export async function authCallback(request: Request, mode: AuthMode, configuredUrl: string | undefined): Promise<NextResponse> {
  const failed = redirectTo('/login?error=link', configuredUrl);
  if (mode.kind !== 'supabase') return failed;
  const params = new URL(request.url).searchParams;
  const { client, apply } = supabaseFor(request, mode);
  const code = params.get('code');
  const tokenHash = params.get('token_hash');
  const type = params.get('type');
  const { error } = code
    ? await client.auth.exchangeCodeForSession(code)
    : tokenHash && (type === 'email' || type === 'magiclink' || type === 'signup')
      ? await client.auth.verifyOtp({ token_hash: tokenHash, type })
      : { error: new Error('no code') };
  if (error) return failed;
  return apply(redirectTo('/', configuredUrl));
}

export async function signOut(request: Request, mode: AuthMode): Promise<NextResponse> {
  if (mode.kind === 'supabase') {
    const { client, apply } = supabaseFor(request, mode);
    await client.auth.signOut();
    return apply(NextResponse.json({ signedOut: true }));
  }
  const response = NextResponse.json({ signedOut: true });
  response.cookies.set(localSessionCookie('', isHttps(request), 0));
  return response;
}
