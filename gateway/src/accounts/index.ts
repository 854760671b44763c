/**
 * Everything about users the gateway's chain needs, built from the user settings: the identity
 * step, and the accounts API when local accounts are on.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { createRemoteJWKSet } from 'jose';
import type { Env } from '../env.ts';
import { jsonLog, type Log } from '../log.ts';
import type { UserSettings } from '../settings.ts';
import { openStateDb } from '../state/db.ts';
import { adminApi, authApi } from './api.ts';
import { assertionVerifier, verifiedIdentity } from './identity.ts';
import type { FailureLimiter } from './rate-limit.ts';
import { AccountStore } from './store.ts';

export type Users = {
  /** Sets the request's `identity` from a verified assertion (or, when trusted, X-User-Email). */
  identity: MiddlewareHandler<Env>;
  /** `/auth/*` for the web app, behind GATEWAY_TOKEN. */
  auth?: Hono<Env>;
  /** `/admin/*` for the CLI, behind ADMIN_TOKEN (checked by the app), so mounted before GATEWAY_TOKEN's check. */
  admin?: Hono<Env>;
};

export type UsersOptions = {
  settings: UserSettings;
  /** The account store; without it there are no local accounts (Supabase, shared, or trusted header only). */
  store?: AccountStore;
  limiter?: FailureLimiter;
  jwks?: ReturnType<typeof createRemoteJWKSet>;
  log?: Log;
};

export function createUsers({ settings, store, limiter, jwks, log = jsonLog }: UsersOptions): Users {
  const verify = assertionVerifier({ settings, store, jwks });
  return {
    identity: verifiedIdentity({ verify, trustEmailHeader: settings.trustEmailHeader }),
    auth: store && authApi({ store, limiter, log }),
    admin: store && settings.adminToken ? adminApi({ store, log }) : undefined,
  };
}

/** The account store on the state database under DATA_DIR. */
export function openAccountStore(settings: UserSettings): AccountStore {
  return new AccountStore({ db: openStateDb(settings.dataDir), inviteTtlMs: settings.inviteTtlMs });
}
