/**
 * Secrets from files, as Docker and Swarm secrets deliver them (`/run/secrets/<name>`): for each
 * secret setting X, `X_FILE` names a file holding its value (read once; a secret changes with a redeploy).
 */
import { readFileSync } from 'node:fs';

type Env = Record<string, string | undefined>;

/** The web app's settings that hold secrets; only these may come from a file. */
export const SECRET_SETTINGS = ['GATEWAY_TOKEN', 'SESSION_SECRET', 'USER_ASSERTION_SECRET', 'LOCAL_AUTH_PASSWORD', 'SUPABASE_ANON_KEY', 'ADMIN_TOKEN'] as const;

const read = new Map<string, string>();

/** The environment with every `X_FILE` read into `X` (one trailing newline dropped); an X set directly wins. */
export function withSecretFiles(env: Env = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Env {
  const files = SECRET_SETTINGS.filter((name) => env[`${name}_FILE`] && !env[name]);
  if (files.length === 0) return env;
  const resolved = { ...env };
  for (const name of files) {
    const path = env[`${name}_FILE`]!;
    if (!read.has(path)) read.set(path, readFile(path).replace(/\r?\n$/, ''));
    resolved[name] = read.get(path);
  }
  return resolved;
}
