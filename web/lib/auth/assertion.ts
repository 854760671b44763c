/**
 * What the web app sends the gateway with every call to say who the user is: the Supabase access
 * token as it is, or a JWT signed with USER_ASSERTION_SECRET that lives 60 seconds and names the
 * gateway session of a local account. The gateway verifies it and takes the email from it.
 */
import { SignJWT } from 'jose';
import type { User } from './user.ts';

export const ASSERTION_HEADER = 'X-User-Assertion';
const LIFETIME = '60s';

export async function userAssertion(user: User, secret: Uint8Array | undefined): Promise<string | undefined> {
  if (user.accessToken) return user.accessToken;
  if (!secret) return undefined;
  return new SignJWT(user.sessionId ? { sid: user.sessionId } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.email)
    .setIssuer('nanobot-web')
    .setAudience('nanobot-gateway')
    .setIssuedAt()
    .setExpirationTime(LIFETIME)
    .sign(secret);
}
