/** Supabase's own account flows: sign-up, Google, and a forgotten password. */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import type { AuthMode } from '../settings.ts';
import { fail, MIN_PASSWORD, publicOrigin, redirectTo, supabaseFor } from './routes.ts';
import { emailSchema } from './user.ts';

const newPassword = z.string().min(MIN_PASSWORD).max(1024);
const signUpBody = z.object({ email: emailSchema, password: newPassword });
const emailBody = z.object({ email: emailSchema });
const passwordBody = z.object({ password: newPassword });

/** The OAuth providers the original web app offered. */
const PROVIDERS = new Set(['google']);

type Supabase = Extract<AuthMode, { kind: 'supabase' }>;
const onlySupabase = () => fail(400, 'This needs Supabase sign-in; here your teacher creates accounts.');

/** Creates an account; Supabase mails a confirmation link, unless the project confirms by itself. */
export async function signUp(request: Request, mode: AuthMode, configuredUrl: string | undefined): Promise<NextResponse> {
  if (mode.kind !== 'supabase') return onlySupabase();
  const body = signUpBody.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, `Enter a valid email address and a password of at least ${MIN_PASSWORD} characters.`);
  const { client, apply } = supabaseFor(request, mode);
  const { data, error } = await client.auth.signUp({
    ...body.data,
    options: { emailRedirectTo: `${publicOrigin(request, configuredUrl)}/auth/callback` },
  });
  if (error?.status === 422) return fail(409, 'There is already an account for this email. Sign in, or reset your password.');
  if (error) return fail(502, 'The account could not be created. Please try again.');
  return apply(NextResponse.json(data.session ? { email: body.data.email } : { confirm: true }));
}

/** Starts an OAuth sign-in: the PKCE verifier goes into a cookie, the browser to the provider. */
export async function startOAuth(request: Request, mode: AuthMode, configuredUrl: string | undefined): Promise<NextResponse> {
  const failed = redirectTo('/login?error=provider', configuredUrl);
  const provider = new URL(request.url).searchParams.get('provider') ?? '';
  if (mode.kind !== 'supabase' || !PROVIDERS.has(provider)) return failed;
  const { client, apply } = supabaseFor(request, mode as Supabase);
  const { data, error } = await client.auth.signInWithOAuth({
    provider: provider as 'google',
    options: { redirectTo: `${publicOrigin(request, configuredUrl)}/auth/callback`, skipBrowserRedirect: true },
  });
  if (error || !data.url) return failed;
  return apply(NextResponse.redirect(data.url, 303));
}

/** Mails a reset link; answers the same whether the account exists or not. */
export async function requestPasswordReset(request: Request, mode: AuthMode, configuredUrl: string | undefined): Promise<NextResponse> {
  if (mode.kind !== 'supabase') return onlySupabase();
  const body = emailBody.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, 'Enter a valid email address.');
  const { client, apply } = supabaseFor(request, mode);
  const { error } = await client.auth.resetPasswordForEmail(body.data.email, {
    redirectTo: `${publicOrigin(request, configuredUrl)}/auth/callback?next=/reset-password`,
  });
  if (error && error.status !== 404) return fail(502, 'The reset link could not be sent. Please try again.');
  return apply(NextResponse.json({ sent: true }));
}

/** Sets a new password for the signed-in user (after a reset link, or any time). */
export async function updatePassword(request: Request, mode: AuthMode): Promise<NextResponse> {
  if (mode.kind !== 'supabase') return onlySupabase();
  const body = passwordBody.safeParse(await request.json().catch(() => null));
  if (!body.success) return fail(400, `Choose a password of at least ${MIN_PASSWORD} characters.`);
  const { client, apply } = supabaseFor(request, mode);
  const { data: claims } = await client.auth.getClaims();
  if (!claims) return fail(401, 'Your reset link has expired. Ask for a new one.');
  const { error } = await client.auth.updateUser({ password: body.data.password });
  if (error) return fail(400, 'The password could not be changed. Try a longer one.');
  return apply(NextResponse.json({ updated: true }));
}
