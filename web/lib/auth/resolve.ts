import { authMode, type AuthMode } from '../settings.ts';
import { localUser } from './local.ts';
import { supabaseClient, supabaseUser } from './supabase.ts';
import type { CookieJar, User } from './user.ts';

/** The verified user behind a request's cookies, whichever auth mode this deployment runs. */
export async function resolveUser(cookies: CookieJar, mode: AuthMode = authMode()): Promise<User | null> {
  switch (mode.kind) {
    case 'supabase':
      return supabaseUser(supabaseClient(mode, cookies));
    case 'accounts':
    case 'shared':
      return localUser(cookies, mode.secret);
    case 'disabled':
      return null;
  }
}
