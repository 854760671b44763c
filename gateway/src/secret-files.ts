/**
 * Secrets from files, as Docker and Swarm secrets deliver them (`/run/secrets/<name>`): for each
 * secret setting X, `X_FILE` names a file holding its value. Both set is a mistake, not a choice.
 */
import { readFileSync } from 'node:fs';

/** The settings that hold secrets; only these may come from a file. */
export const SECRET_SETTINGS = ['GATEWAY_TOKEN', 'AGENT_TOKEN_SECRET', 'ADMIN_TOKEN', 'USER_ASSERTION_SECRET', 'METRICS_TOKEN'] as const;

/** The environment with every `X_FILE` read into `X` (one trailing newline dropped); throws a sentence without the value. */
export function withSecretFiles(env: Record<string, string | undefined>, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Record<string, string | undefined> {
  const resolved = { ...env };
  for (const name of SECRET_SETTINGS) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) throw new Error(`${name} and ${name}_FILE are both set; set one.`);
    try {
      resolved[name] = read(path).replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`${name}_FILE ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
  }
  return resolved;
}
