/**
 * What the web app sends the gateway with every call to say who the user is: the Supabase access
 * token as it is, or a JWT signed with USER_ASSERTION_SECRET that lives 60 seconds and names the
 * gateway session of a local account. The gateway verifies it and takes the email from it.
 */
import { SignJWT } from 'jose';
import type { User } from './user.ts';

export const ASSERTION_HEADER = 'X-User-Assertion';
const LIFETIME_S = 60;
/**
 * A signed assertion is sent again for this long of its life: the gateway keeps the tokens it has
 * verified, so a student's calls of the next half minute cost it no second verification. Signing
 * out still takes effect at once, because the gateway checks the session on every call.
 */
export const REUSE_MS = 30_000;
/** Users signed in at once on one web server, and more; past it the oldest entry makes room. */
const MAX_KEPT = 4_096;

/** Per secret (tests use several), then per user and session. */
const minted = new WeakMap<Uint8Array, Map<string, { token: string; until: number }>>();

export async function userAssertion(user: User, secret: Uint8Array | undefined, now = Date.now()): Promise<string | undefined> {
  if (user.accessToken) return user.accessToken;
  if (!secret) return undefined;
  let kept = minted.get(secret);
  if (!kept) minted.set(secret, (kept = new Map()));
  const key = `${user.email}\n${user.sessionId ?? ''}`;
  const reused = kept.get(key);
  if (reused && reused.until > now) return reused.token;
  const issuedAt = Math.floor(now / 1000);
  const token = await new SignJWT(user.sessionId ? { sid: user.sessionId } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.email)
    .setIssuer('nanobot-web')
    .setAudience('nanobot-gateway')
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + LIFETIME_S)
    .sign(secret);
  kept.delete(key);
  if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
  kept.set(key, { token, until: now + REUSE_MS });
  return token;
}
