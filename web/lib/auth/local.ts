/** Local auth: one shared password, and a signed session cookie naming the student's email. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { emailSchema, type CookieJar, type User } from './user.ts';

export const LOCAL_SESSION_COOKIE = 'nanobot_session';
export const LOCAL_SESSION_SECONDS = 7 * 24 * 60 * 60;
const ISSUER = 'nanobot-web';

/** Compares digests so neither the length nor the content of the password leaks through timing. */
export function passwordMatches(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export async function signLocalSession(email: string, secret: Uint8Array): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(email)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(`${LOCAL_SESSION_SECONDS}s`)
    .sign(secret);
}

export async function localUser(cookies: CookieJar, secret: Uint8Array): Promise<User | null> {
  const token = cookies.find((c) => c.name === LOCAL_SESSION_COOKIE)?.value;
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, algorithms: ['HS256'] });
    const email = emailSchema.safeParse(payload.sub);
    return email.success ? { email: email.data } : null;
  } catch {
    return null;
  }
}

export function localSessionCookie(token: string, secure: boolean, maxAge = LOCAL_SESSION_SECONDS) {
  return { name: LOCAL_SESSION_COOKIE, value: token, httpOnly: true, sameSite: 'lax' as const, secure, path: '/', maxAge };
}
