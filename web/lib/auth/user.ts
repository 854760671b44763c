import { z } from 'zod';

/**
 * The signed-in student, as verified on the server, and what proves it to the gateway: the
 * gateway session of a local account, or the Supabase access token.
 */
export type User = { email: string; sessionId?: string; accessToken?: string };

/**
 * The gateway's rule (gateway/src/email.ts: RFC 5321's Dot-string local part with all its special
 * characters, a host name whose labels neither start nor end with a hyphen, 64/254 characters), copied
 * because the web image carries no gateway code; web/test/auth.test.ts checks that the two agree.
 */
export const EMAIL_PATTERN =
  /^(?=[^@]{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** The same normalisation the gateway applies, so the UI shows the identity the tutor is keyed by. */
export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email({ pattern: EMAIL_PATTERN }));

export type CookieJar = { name: string; value: string }[];

export function parseCookieHeader(header: string | null): CookieJar {
  if (!header) return [];
  return header.split(';').flatMap((part) => {
    const index = part.indexOf('=');
    if (index < 0) return [];
    const name = part.slice(0, index).trim();
    const raw = part.slice(index + 1).trim();
    try {
      return [{ name, value: decodeURIComponent(raw) }];
    } catch {
      return [{ name, value: raw }];
    }
  });
}
