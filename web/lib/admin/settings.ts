/**
 * Who may open the admin page (ADMIN_EMAILS) and the token the server uses for the gateway's
 * admin API (ADMIN_TOKEN). Server-side only: nothing here is ever sent to a browser.
 */
import type { User } from '../auth/user.ts';
import { withSecretFiles } from '../secret-files.ts';
import { authMode, gatewaySettings } from '../settings.ts';

export type AdminSettings = { emails: ReadonlySet<string>; token: string; gatewayUrl: string };

type Env = Record<string, string | undefined>;

/**
 * With the shared password anyone who knows it can sign in under any address, an admin's too,
 * so that mode has no admins at all. ADMIN_TOKEN may come from ADMIN_TOKEN_FILE (a Docker secret).
 */
export function adminSettings(env: Env = withSecretFiles()): AdminSettings {
  const listed = (env.ADMIN_EMAILS ?? '').split(/[\s,]+/).map((e) => e.trim().toLowerCase()).filter(Boolean);
  const emails = authMode(env).kind === 'shared' ? [] : listed;
  return { emails: new Set(emails), token: env.ADMIN_TOKEN ?? '', gatewayUrl: gatewaySettings(env).url };
}

/** Emails are compared as the sign-in normalised them (trimmed, lower-case). */
export function isAdmin(user: User | null, settings: AdminSettings): boolean {
  return user !== null && settings.emails.has(user.email);
}
