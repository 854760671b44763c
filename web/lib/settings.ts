/**
 * Deployment settings, read from the environment at request time (never at build time), so one
 * image serves every deployment.
 */
import { withSecretFiles } from './secret-files.ts';

export type AuthMode =
  | { kind: 'supabase'; url: string; anonKey: string }
  /** The default: each student's own account, kept by the gateway; the cookie names a gateway session. */
  | { kind: 'accounts'; secret: Uint8Array }
  /** LOCAL_AUTH_MODE=shared: one password for everybody, for a single trusted machine only. */
  | { kind: 'shared'; password: string; secret: Uint8Array }
  | { kind: 'disabled'; reason: string };

/** `assertionSecret` signs the short-lived user assertions the gateway verifies (USER_ASSERTION_SECRET). */
export type GatewaySettings = { url: string; token: string; assertionSecret?: Uint8Array };

type Env = Record<string, string | undefined>;

const MIN_SECRET_LENGTH = 32;

export function authMode(env: Env = withSecretFiles()): AuthMode {
  if (env.SUPABASE_URL && env.SUPABASE_ANON_KEY) {
    return { kind: 'supabase', url: env.SUPABASE_URL, anonKey: env.SUPABASE_ANON_KEY };
  }
  const shared = env.LOCAL_AUTH_MODE === 'shared';
  if (env.LOCAL_AUTH_MODE && !shared && env.LOCAL_AUTH_MODE !== 'accounts') {
    return { kind: 'disabled', reason: 'Sign-in is off: LOCAL_AUTH_MODE must be "accounts" (the default) or "shared".' };
  }
  if (shared && !env.LOCAL_AUTH_PASSWORD) {
    return { kind: 'disabled', reason: 'Sign-in is off: LOCAL_AUTH_MODE=shared needs LOCAL_AUTH_PASSWORD. Set it and restart.' };
  }
  const secret = env.SESSION_SECRET ?? '';
  const assertion = env.USER_ASSERTION_SECRET ?? '';
  if (secret.length < MIN_SECRET_LENGTH || assertion.length < MIN_SECRET_LENGTH) {
    return {
      kind: 'disabled',
      reason: `Sign-in is off: SESSION_SECRET and USER_ASSERTION_SECRET must each be at least ${MIN_SECRET_LENGTH} characters long (bun run setup writes them).`,
    };
  }
  const key = new TextEncoder().encode(secret);
  return shared ? { kind: 'shared', password: env.LOCAL_AUTH_PASSWORD!, secret: key } : { kind: 'accounts', secret: key };
}

export function gatewaySettings(env: Env = withSecretFiles()): GatewaySettings {
  return {
    url: (env.GATEWAY_URL || 'http://localhost:8080').replace(/\/+$/, ''),
    token: env.GATEWAY_TOKEN ?? '',
    assertionSecret: env.USER_ASSERTION_SECRET ? new TextEncoder().encode(env.USER_ASSERTION_SECRET) : undefined,
  };
}

/**
 * The origin students reach the app at (`PUBLIC_URL`), for links and redirects that leave the
 * current request. Undefined when unset or not an http(s) URL: callers then use the request's
 * own address, never client-supplied forwarding headers.
 */
export function publicUrl(env: Env = process.env): string | undefined {
  const value = env.PUBLIC_URL?.trim();
  if (!value || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
}
