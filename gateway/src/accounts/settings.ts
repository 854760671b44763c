/** The gateway's settings about users: how it learns who a request is for, and the accounts API. */
import { z } from 'zod';
import { SettingsError } from '../settings.ts';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `12h`, `30m`, `90s` (a bare number is seconds) into milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(value.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * (UNIT_MS[(match[2] || 's').toLowerCase()] ?? 1000);
  return ms > 0 ? ms : undefined;
}

const flag = z.enum(['0', '1', 'true', 'false', '']).default('').transform((v) => v === '1' || v === 'true');
const optional = z.string().trim().optional().transform((v) => v || undefined);

const schema = z
  .object({
    LOCAL_AUTH_MODE: z.enum(['accounts', 'shared']).default('accounts'),
    USER_ASSERTION_SECRET: optional.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    ADMIN_TOKEN: optional.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    SUPABASE_URL: optional.pipe(z.url({ protocol: /^https?$/ }).optional()),
    GATEWAY_TRUST_EMAIL_HEADER: flag,
    INVITE_TTL: z.string().default('7d').transform((v, ctx) => parseDuration(v) ?? (ctx.addIssue('is not a duration such as 7d, 12h or 30m'), z.NEVER)),
  })
  .superRefine((env, ctx) => {
    if (!env.USER_ASSERTION_SECRET && !env.SUPABASE_URL && !env.GATEWAY_TRUST_EMAIL_HEADER) {
      ctx.addIssue({
        code: 'custom',
        path: ['USER_ASSERTION_SECRET'],
        message: 'is required to verify who the user is (or SUPABASE_URL, or GATEWAY_TRUST_EMAIL_HEADER=1 to trust X-User-Email)',
      });
    }
  });

export type UserSettings = {
  /** `accounts`: per-student passwords; `shared`: the web app's one shared password (assertions carry no session). */
  localAuthMode: 'accounts' | 'shared';
  /** Key of the HS256 user assertions the web app signs; undefined: none are accepted. */
  assertionSecret: string | undefined;
  /** Bearer token of the admin API (`/admin/*`); undefined turns that API off. */
  adminToken: string | undefined;
  /** Supabase project whose access tokens are accepted as assertions (checked against its JWKS). */
  supabaseUrl: string | undefined;
  /** Accept a bare X-User-Email without an assertion (for callers like the original web app). */
  trustEmailHeader: boolean;
  inviteTtlMs: number;
};

export function loadUserSettings(env: Record<string, string | undefined> = process.env): UserSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`);
    throw new SettingsError(`Invalid gateway settings: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    localAuthMode: e.LOCAL_AUTH_MODE,
    assertionSecret: e.USER_ASSERTION_SECRET,
    adminToken: e.ADMIN_TOKEN,
    supabaseUrl: e.SUPABASE_URL?.replace(/\/+$/, ''),
    trustEmailHeader: e.GATEWAY_TRUST_EMAIL_HEADER,
    inviteTtlMs: e.INVITE_TTL,
  };
}
