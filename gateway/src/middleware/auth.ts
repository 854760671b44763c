/** Only the web app, holding GATEWAY_TOKEN, may use the gateway. */
import { bearerAuth } from 'hono/bearer-auth';
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

export type AuthOptions = {
  /** The expected bearer token; undefined turns the check off (GATEWAY_ALLOW_NO_TOKEN=1). */
  token: string | undefined;
};

/** Every failure (no header, not a bearer header, wrong token) is the same JSON 401. */
const refuse = (): never => {
  throw new GatewayError(401, 'unauthorized', 'A valid gateway bearer token is required.', { 'WWW-Authenticate': 'Bearer' });
};

/** hono/bearer-auth compares SHA-256 digests in constant time, so timing tells a caller nothing about the token. */
export const auth = ({ token }: AuthOptions) =>
  token === undefined
    ? createMiddleware<Env>(async (_c, next) => next())
    : bearerAuth<Env>({
        token,
        noAuthenticationHeader: { message: refuse },
        invalidAuthenticationHeader: { message: refuse },
        invalidToken: { message: refuse },
      });
