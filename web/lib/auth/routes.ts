/** Sign-in, invites, magic link, callback and sign-out, for whichever auth mode the deployment runs. */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { GatewayUnreachable, type Gateway } from '../gateway.ts';
import { gatewaySettings, publicUrl, type AuthMode } from '../settings.ts';
import { accountsCall, clientAddress, type GatewaySession } from './accounts.ts';
import { LOCAL_SESSION_SECONDS, localSessionCookie, localUser, passwordMatches, signLocalSession } from './local.ts';
import { supabaseClient, type CookieWrite } from './supabase.ts';
import { emailSchema, parseCookieHeader } from './user.ts';

/** The shortest password an invite accepts; the gateway enforces the same. */
export const MIN_PASSWORD = 10;

const credentials = z.object({ email: emailSchema, password: z.string().min(1).max(1024) });
const magicLinkBody = z.object({ email: emailSchema });
const inviteBody = z.object({ token: z.string().min(20).max(200), password: z.string().min(MIN_PASSWORD).max(1024) });
const signOutBody = z.object({ everywhere: z.boolean().default(false) });

/** What the auth routes need besides the request: the gateway (which keeps local accounts) and PUBLIC_URL. */
export type AuthDeps = { gateway: Gateway; publicUrl: string | undefined };
export const authDeps = (): AuthDeps => ({ gateway: gatewaySettings(), publicUrl: publicUrl() });

export function fail(status: number, error: string, headers: Record<string, string> = {}): NextResponse {
  return NextResponse.json({ error }, { status, headers });
}

const UNREACHABLE = 'Sign-in is not available right now. Please try again in a moment.';

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
export function redirectTo(path: string, configured: string | undefined): NextResponse {
  return configured ? NextResponse.redirect(`${configured}${path}`) : new NextResponse(null, { status: 307, headers: { Location: path } });
}

/**
 * Whether the cookie gets the Secure flag: PUBLIC_URL is https, or the browser used HTTPS (also
 * behind a TLS-terminating proxy).
 */
function isHttps(request: Request, configured: string | undefined): boolean {
  if (configured?.startsWith('https:')) return true;
  const forwarded = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim();
  return (forwarded ?? new URL(request.url).protocol.replace(':', '')) === 'https';
}

/** A JSON answer that carries the session cookie of a gateway session. */
async function withGatewaySession(session: GatewaySession, mode: Extract<AuthMode, { kind: 'accounts' }>, request: Request, deps: AuthDeps) {
  const seconds = Math.max(1, Math.min(LOCAL_SESSION_SECONDS, Math.floor((session.expiresAt - Date.now()) / 1000)));
  const response = NextResponse.json({ email: session.email });
  const token = await signLocalSession(session.email, mode.secret, session.sessionId, seconds);
  response.cookies.set(localSessionCookie(token, isHttps(request, deps.publicUrl), seconds));
  return response;
}

/** Turns the gateway's 429 into the student's, keeping Retry-After. */
function throttled(response: Response): NextResponse {
  const seconds = response.headers.get('retry-after') ?? '60';
  return fail(429, `Too many attempts. Please wait ${seconds} seconds and try again.`, { 'Retry-After': seconds });
}

/** A Supabase client for this request whose cookie writes land on the response built afterwards. */
export function supabaseFor(request: Request, mode: Extract<AuthMode, { kind: 'supabase' }>) {
  const writes: CookieWrite[] = [];
  const client = supabaseClient(mode, parseCookieHeader(request.headers.get('cookie')), (cookies) => writes.push(...cookies));
  const apply = (response: NextResponse) => {
    for (const { name, value, options } of writes) response.cookies.set(name, value, options);
    return response;
  };
  return { client, apply };
}

export async function signIn(request: Request, mode: AuthMode, deps: AuthDeps = authDeps()): Promise<NextResponse> {
  if (mode.kind === 'disabled') return fail(503, mode.reason);
  const body = credentials.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, 'Enter a valid email address and a password.');
  const { email, password } = body.data;
  if (mode.kind === 'shared') {
    if (!passwordMatches(password, mode.password)) return fail(401, 'That password is not right.');
    const response = NextResponse.json({ email });
    response.cookies.set(localSessionCookie(await signLocalSession(email, mode.secret), isHttps(request, deps.publicUrl)));
    return response;
  }
  if (mode.kind === 'accounts') {
    try {
      const answer = await accountsCall(deps.gateway, '/sign-in', { email, password, clientIp: clientAddress(request) });
      if (answer.status === 429) return throttled(answer);
      if (answer.status === 401) return fail(401, 'That email and password do not match an account.');
      if (!answer.ok) return fail(502, UNREACHABLE);
      return withGatewaySession((await answer.json()) as GatewaySession, mode, request, deps);
    } catch (error) {
      if (error instanceof GatewayUnreachable) return fail(503, UNREACHABLE);
      throw error;
    }
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
    : tokenHash && (type === 'email' || type === 'magiclink' || type === 'signup' || type === 'recovery')
      ? await client.auth.verifyOtp({ token_hash: tokenHash, type })
      : { error: new Error('no code') };
  if (error) return failed;
  // A password-recovery link continues to the page that sets the new password; nothing else is followed.
  const next = params.get('next') === '/reset-password' || type === 'recovery' ? '/reset-password' : '/';
  return apply(redirectTo(next, configuredUrl));
}

/** Signs out here, or with `{"everywhere": true}` on every device (local accounts and Supabase). */
export async function signOut(request: Request, mode: AuthMode, deps: AuthDeps = authDeps()): Promise<NextResponse> {
  const { everywhere } = signOutBody.safeParse(await request.json().catch(() => ({}))).data ?? { everywhere: false };
  if (mode.kind === 'supabase') {
    const { client, apply } = supabaseFor(request, mode);
    await client.auth.signOut({ scope: everywhere ? 'global' : 'local' });
    return apply(NextResponse.json({ signedOut: true }));
  }
  if (mode.kind === 'accounts') {
    const user = await localUser(parseCookieHeader(request.headers.get('cookie')), mode.secret);
    if (user?.sessionId) {
      const answer = await accountsCall(deps.gateway, '/sign-out', { sessionId: user.sessionId, everywhere }).catch(() => null);
      // Here, dropping the cookie is enough: the session id lives nowhere else. Everywhere needs the gateway.
      if (!answer?.ok && everywhere) return fail(503, 'Signing out everywhere needs the tutor service, which does not answer. Please try again.');
    }
  }
  const response = NextResponse.json({ signedOut: true });
  response.cookies.set(localSessionCookie('', isHttps(request, deps.publicUrl), 0));
  return response;
}

/** The email an invite link is for, or why it cannot be used; for the invite page. */
export async function lookUpInvite(token: string, clientIp: string | undefined, mode: AuthMode, deps: AuthDeps = authDeps()): Promise<{ email: string } | { error: string }> {
  if (mode.kind !== 'accounts') return { error: 'Invite links are only used with local accounts, which this app does not use.' };
  const answer = await accountsCall(deps.gateway, '/invites/lookup', { token, clientIp }).catch(() => null);
  if (!answer) return { error: UNREACHABLE };
  if (answer.status === 429) return { error: 'Too many attempts. Please wait a minute and open the link again.' };
  if (!answer.ok) return { error: 'This invite link is invalid, already used or expired. Ask your teacher for a new one.' };
  return { email: ((await answer.json()) as { email: string }).email };
}

/** Sets the student's password through a one-time invite and signs them in. */
export async function acceptInvite(request: Request, mode: AuthMode, deps: AuthDeps = authDeps()): Promise<NextResponse> {
  if (mode.kind !== 'accounts') return fail(400, 'Invite links are only used with local accounts.');
  const body = inviteBody.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, `Choose a password of at least ${MIN_PASSWORD} characters.`);
  try {
    const answer = await accountsCall(deps.gateway, '/invites/accept', { ...body.data, clientIp: clientAddress(request) });
    if (answer.status === 429) return throttled(answer);
    if (answer.status === 404) return fail(410, 'This invite link is invalid, already used or expired. Ask your teacher for a new one.');
    if (!answer.ok) return fail(502, UNREACHABLE);
    return withGatewaySession((await answer.json()) as GatewaySession, mode, request, deps);
  } catch (error) {
    if (error instanceof GatewayUnreachable) return fail(503, UNREACHABLE);
    throw error;
  }
}
