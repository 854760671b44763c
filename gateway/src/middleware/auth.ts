/** Only the web app, holding GATEWAY_TOKEN, may use the gateway. */
import { timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

export type AuthOptions = {
  /** The expected bearer token; undefined turns the check off (GATEWAY_ALLOW_NO_TOKEN=1). */
  token: string | undefined;
};

/** `Bearer`, a space, then a token of RFC 6750's token68 syntax: what hono/bearer-auth accepted. */
const BEARER = /^bearer \s*([A-Za-z0-9._~+/-]+=*)$/i;

const sha256 = (value: string) => Bun.SHA256.hash(value) as Uint8Array;

/** Every failure (no header, not a bearer header, wrong token) is the same JSON 401. */
const refused = () => new GatewayError(401, 'unauthorized', 'A valid gateway bearer token is required.', { 'WWW-Authenticate': 'Bearer' });

/**
 * Whether an Authorization header carries one of the tokens. Compares SHA-256 digests in constant
 * time, so timing tells a caller nothing about a token or its length. The expected digests are
 * computed once and the check is synchronous: hono/bearer-auth hashed both sides with WebCrypto on
 * every request, a tenth of the gateway's CPU under load.
 */
export function bearerMatcher(tokens: string[]): (authorization: string | null) => boolean {
  const expected = tokens.map(sha256);
  return (authorization) => {
    const given = BEARER.exec(authorization ?? '')?.[1];
    if (given === undefined) return false;
    const digest = sha256(given);
    // Every token is compared, so which one matched does not show in the time either.
    return expected.reduce((found, token) => timingSafeEqual(digest, token) || found, false);
  };
}

export const auth = ({ token }: AuthOptions) => {
  if (token === undefined) return createMiddleware<Env>(async (_c, next) => next());
  const matches = bearerMatcher([token]);
  return createMiddleware<Env>(async function auth(c, next) {
    if (!matches(c.req.raw.headers.get('authorization'))) throw refused();
    await next();
  });
};
