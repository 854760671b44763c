/**
 * Who a request is for, verified: the web app sends a short-lived signed assertion of the user in
 * `X-User-Assertion`, and the email comes from it, never from a header the caller could pick.
 *
 * - Local accounts (and the shared-password mode): an HS256 JWT signed with USER_ASSERTION_SECRET,
 *   issuer `nanobot-web`, audience `nanobot-gateway`, at most 90 s old, whose `sid` names a live
 *   sign-in session (so signing out and disabling take effect at once). Only the shared-password
 *   mode, which has no sessions here, accepts an assertion without `sid`.
 * - Supabase: the user's access token, checked against the project's JWKS (fetched once and
 *   cached by jose, refetched only for an unknown key id), issuer `<SUPABASE_URL>/auth/v1`,
 *   audience `authenticated`.
 *
 * A bare `X-User-Email` is accepted only with GATEWAY_TRUST_EMAIL_HEADER=1.
 */
import { createMiddleware } from 'hono/factory';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { emailSchema, identityFor } from '../identity.ts';
import { identity as emailHeaderIdentity, identityOf } from '../middleware/identity.ts';
import type { UserSettings } from '../settings.ts';
import type { AccountStore } from './store.ts';
import { VerifiedCache } from './verified-cache.ts';

export const ASSERTION_HEADER = 'x-user-assertion';
export const ASSERTION_ISSUER = 'nanobot-web';
export const ASSERTION_AUDIENCE = 'nanobot-gateway';
const MAX_ASSERTION_AGE_S = 90;

/** Returns the verified, normalised email; throws a 401 GatewayError otherwise. */
export type AssertionVerifier = (token: string) => Promise<string>;

const invalid = (message = 'The user assertion is invalid or has expired.') => new GatewayError(401, 'invalid_assertion', message);

function emailOf(payload: JWTPayload, claim: 'sub' | 'email'): string {
  const email = emailSchema.safeParse(payload[claim]);
  if (!email.success) throw invalid('The user assertion names no valid email address.');
  return email.data;
}

export type VerifierOptions = {
  settings: Pick<UserSettings, 'assertionSecret' | 'supabaseUrl' | 'localAuthMode'>;
  /** Sessions of local accounts; without it, only the shared mode's session-less assertions pass. */
  store?: Pick<AccountStore, 'sessionActive'>;
  /** Injectable for tests: where the Supabase JWKS is fetched from. */
  jwks?: ReturnType<typeof createRemoteJWKSet>;
  /** Injectable for tests: the clock that expires tokens, in the cache and in jose alike. */
  now?: () => number;
};

/** What a verified token proved: the email, and for a local assertion that it is one and the session it names. */
type Claims = { email: string; local: boolean; sid?: string };

/** Milliseconds since the epoch at which jose would refuse the token: its exp, or for a local one its age limit if sooner. */
function validUntil(payload: JWTPayload, maxAgeSeconds?: number): number {
  const exp = (payload.exp ?? 0) * 1000;
  return maxAgeSeconds === undefined ? exp : Math.min(exp, ((payload.iat ?? 0) + maxAgeSeconds) * 1000);
}

export function assertionVerifier({ settings, store, jwks, now = Date.now }: VerifierOptions): AssertionVerifier {
  const secret = settings.assertionSecret ? new TextEncoder().encode(settings.assertionSecret) : undefined;
  const supabase = settings.supabaseUrl
    ? { issuer: `${settings.supabaseUrl}/auth/v1`, keys: jwks ?? createRemoteJWKSet(new URL(`${settings.supabaseUrl}/auth/v1/.well-known/jwks.json`)) }
    : undefined;

  const verified = new VerifiedCache<Claims>(undefined, now);

  async function local(token: string, key: Uint8Array): Promise<Claims> {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: ASSERTION_ISSUER,
      audience: ASSERTION_AUDIENCE,
      maxTokenAge: MAX_ASSERTION_AGE_S,
      requiredClaims: ['exp', 'iat', 'sub'],
      currentDate: new Date(now()),
    }).catch(() => {
      throw invalid();
    });
    const claims = { email: emailOf(payload, 'sub'), local: true, ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}) };
    verified.set(token, claims, validUntil(payload, MAX_ASSERTION_AGE_S));
    return claims;
  }

  /** Checked on every request, cached or not: a session can end at any moment. */
  function sessionOf({ email, sid }: Claims): string {
    if (sid !== undefined) {
      if (!store?.sessionActive(sid, email)) throw new GatewayError(401, 'session_ended', 'This sign-in session has ended; sign in again.');
    } else if (settings.localAuthMode !== 'shared') {
      throw invalid('The user assertion names no sign-in session.');
    }
    return email;
  }

  async function fromSupabase(token: string, verifier: NonNullable<typeof supabase>): Promise<Claims> {
    const { payload } = await jwtVerify(token, verifier.keys, {
      issuer: verifier.issuer,
      audience: 'authenticated',
      requiredClaims: ['exp'],
      currentDate: new Date(now()),
    }).catch(() => {
      throw invalid();
    });
    const claims = { email: emailOf(payload, 'email'), local: false };
    verified.set(token, claims, validUntil(payload));
    return claims;
  }

  return async function verify(token) {
    const cached = verified.get(token);
    if (cached) return cached.local ? sessionOf(cached) : cached.email;
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid();
    }
    if (alg === 'HS256' && secret) return sessionOf(await local(token, secret));
    if (alg !== 'HS256' && supabase) return (await fromSupabase(token, supabase)).email;
    throw invalid();
  };
}

export type VerifiedIdentityOptions = { verify: AssertionVerifier; trustEmailHeader: boolean };

/** Sets `identity` from a verified assertion, refusing an X-User-Email that says otherwise. */
export const verifiedIdentity = ({ verify, trustEmailHeader }: VerifiedIdentityOptions) => {
  const fromEmailHeader = emailHeaderIdentity();
  return createMiddleware<Env>(async function verifiedIdentity(c, next) {
    const assertion = c.req.header(ASSERTION_HEADER);
    if (!assertion) {
      if (trustEmailHeader) return fromEmailHeader(c, next);
      throw new GatewayError(401, 'identity_required', 'A signed user assertion (X-User-Assertion) is required.');
    }
    const email = await verify(assertion);
    // Both from the header cache: validating and hashing the same address on every request is not free.
    const claimed = c.req.header('x-user-email');
    if (claimed !== undefined && identityOf(claimed)?.email !== email) {
      throw new GatewayError(403, 'identity_mismatch', 'X-User-Email does not match the verified user.');
    }
    c.set('identity', identityOf(email) ?? identityFor(email));
    await next();
  });
};
