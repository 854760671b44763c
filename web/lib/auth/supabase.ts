/** Supabase auth: a new server client per request, fed from that request's cookies. */
import { createServerClient, type CookieOptions } from '@supabase/ssr';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { CookieJar, User } from './user.ts';
import { emailSchema } from './user.ts';

export type CookieWrite = { name: string; value: string; options: CookieOptions };

export function supabaseClient(
  settings: { url: string; anonKey: string },
  cookies: CookieJar,
  write: (cookies: CookieWrite[]) => void = () => {},
): SupabaseClient {
  return createServerClient(settings.url, settings.anonKey, {
    cookies: { getAll: () => cookies, setAll: write },
  });
}

/** Verifies the session's JWT (getClaims checks the signature), never trusting the stored session as is. */
export async function supabaseUser(client: SupabaseClient): Promise<User | null> {
  const { data, error } = await client.auth.getClaims();
  if (error || !data) return null;
  const email = emailSchema.safeParse(data.claims.email);
  if (!email.success) return null;
  // The token getClaims just verified; the gateway verifies it again against the project's JWKS.
  const { data: session } = await client.auth.getSession();
  return { email: email.data, accessToken: session.session?.access_token };
}
