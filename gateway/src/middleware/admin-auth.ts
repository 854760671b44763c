/** The operator's endpoints take their own bearer tokens (ADMIN_TOKEN, METRICS_TOKEN), never GATEWAY_TOKEN. */
import { bearerAuth } from 'hono/bearer-auth';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

/** Every failure is the same JSON 401 naming the setting, never the token; the comparison is hono/bearer-auth's, in constant time. */
export const tokenAuth = (tokens: string[], setting: string) => {
  const refuse = (): never => {
    throw new GatewayError(401, 'unauthorized', `The ${setting} bearer token is required.`, { 'WWW-Authenticate': 'Bearer' });
  };
  return bearerAuth<Env>({
    token: tokens,
    noAuthenticationHeader: { message: refuse },
    invalidAuthenticationHeader: { message: refuse },
    invalidToken: { message: refuse },
  });
};
