/**
 * Local sign-in's cookie: a signed JWT naming the student's email and, for local accounts, the
 * gateway session it stands for (so signing out anywhere, or disabling the account, ends it).
 */
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

export async function signLocalSession(email: string, secret: Uint8Array, sessionId?: string, seconds = LOCAL_SESSION_SECONDS): Promise<string> {
  return new SignJWT(sessionId ? { sid: sessionId } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(email)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(`${seconds}s`)
    .sign(secret);
}

export async function localUser(cookies: CookieJar, secret: Uint8Array): Promise<User | null> {
  const token = cookies.find((c) => c.name === LOCAL_SESSION_COOKIE)?.value;
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, algorithms: ['HS256'] });
    const email = emailSchema.safeParse(payload.sub);
    if (!email.success) return null;
    return typeof payload.sid === 'string' ? { email: email.data, sessionId: payload.sid } : { email: email.data };
  } catch {
    return null;
  }
}

export function localSessionCookie(token: string, secure: boolean, maxAge = LOCAL_SESSION_SECONDS) {
  return { name: LOCAL_SESSION_COOKIE, value: token, httpOnly: true, sameSite: 'lax' as const, secure, path: '/', maxAge };
}

/** Drops the cookie of a session the gateway has ended, so the login page does not send the student straight back. */
export function withCookieCleared(response: Response): Response {
  response.headers.append('Set-Cookie', `${LOCAL_SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`);
  return response;
}
