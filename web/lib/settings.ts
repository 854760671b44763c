/**
 * Deployment settings, read from the environment at request time (never at build time), so one
 * image serves every deployment.
 */
export type AuthMode =
  | { kind: 'supabase'; url: string; anonKey: string }
  | { kind: 'local'; password: string; secret: Uint8Array }
  | { kind: 'disabled'; reason: string };

export type GatewaySettings = { url: string; token: string };

type Env = Record<string, string | undefined>;

const MIN_SECRET_LENGTH = 32;

export function authMode(env: Env = process.env): AuthMode {
  if (env.SUPABASE_URL && env.SUPABASE_ANON_KEY) {
    return { kind: 'supabase', url: env.SUPABASE_URL, anonKey: env.SUPABASE_ANON_KEY };
  }
  if (!env.LOCAL_AUTH_PASSWORD) {
    return {
      kind: 'disabled',
      reason: 'Sign-in is not configured. Set LOCAL_AUTH_PASSWORD (or SUPABASE_URL and SUPABASE_ANON_KEY) and restart.',
    };
  }
  const secret = env.SESSION_SECRET ?? '';
  if (secret.length < MIN_SECRET_LENGTH) {
    return {
      kind: 'disabled',
      reason: `Local sign-in is off: SESSION_SECRET must be at least ${MIN_SECRET_LENGTH} characters long.`,
    };
  }
  return { kind: 'local', password: env.LOCAL_AUTH_PASSWORD, secret: new TextEncoder().encode(secret) };
}

export function gatewaySettings(env: Env = process.env): GatewaySettings {
  return { url: (env.GATEWAY_URL || 'http://localhost:8080').replace(/\/+$/, ''), token: env.GATEWAY_TOKEN ?? '' };
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
