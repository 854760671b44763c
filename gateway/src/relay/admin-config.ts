/**
 * The admin's config.json (with the provider keys), read by the gateway only. It is re-read when
 * its modification time changes, looked at no more than once a second.
 */
import { readFileSync, statSync } from 'node:fs';
import type { ProviderEntry } from './providers.ts';

export type AdminConfigFile = Record<string, unknown> & { providers?: Record<string, ProviderEntry> };

const RECHECK_MS = 1000;

export class AdminConfig {
  private config: AdminConfigFile | undefined;
  private mtimeMs = -1;
  private checkedAt = -Infinity;

  constructor(readonly path: string) {}

  /** The modification time now, or -1 when the file is missing. */
  private statMtime(): number {
    try {
      return statSync(this.path).mtimeMs;
    } catch {
      return -1;
    }
  }

  /** True when the file changed since it was last read (and so the agents' copies need rewriting). */
  changed(): boolean {
    return this.statMtime() !== this.mtimeMs;
  }

  /** The parsed file; throws when it is missing or not a JSON object, keeping no stale copy. */
  get(fresh = false): AdminConfigFile {
    const now = performance.now();
    if (this.config && !fresh && now - this.checkedAt < RECHECK_MS) return this.config;
    this.checkedAt = now;
    const mtime = this.statMtime();
    if (this.config && mtime === this.mtimeMs) return this.config;
    this.config = undefined;
    this.mtimeMs = mtime;
    const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${this.path} is not a JSON object`);
    this.config = parsed as AdminConfigFile;
    return this.config;
  }

  providers(): Record<string, ProviderEntry> {
    const providers = this.get().providers;
    return providers && typeof providers === 'object' ? providers : {};
  }
}
