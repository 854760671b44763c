/**
 * The agents' config.json: the admin's file with every configured provider's key replaced by the
 * agent's relay key, its `apiBase` pointing at the relay and its `extraHeaders` left out. One file per agent, in a folder of the
 * gateway's (never the student's writable folder), bound read-only over /root/.nanobot/config.json.
 */
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdminConfig, AdminConfigFile } from './admin-config.ts';
import { relayKey } from './keys.ts';
import { agentSuffix, isConfigured, kindOf, type ProviderEntry } from './providers.ts';

/** Below DATA_DIR, where no user id can collide: ids never start with a dot. */
export const AGENT_CONFIG_DIR = join('.state', 'agent-config');

export const agentConfigPath = (dataDir: string, userId: string): string => join(dataDir, AGENT_CONFIG_DIR, `${userId}.json`);

/** Pure: the admin's config as one agent gets it. Providers not set up stay as they are (empty). */
export function deriveAgentConfig(admin: AdminConfigFile, { key, relayUrl }: { key: string; relayUrl: string }): AdminConfigFile {
  const providers: Record<string, ProviderEntry> = {};
  for (const [name, entry] of Object.entries(admin.providers ?? {})) {
    if (!entry || typeof entry !== 'object' || !isConfigured(entry)) {
      providers[name] = entry;
      continue;
    }
    // extraHeaders may hold secrets of their own (an Azure `api-key`, an AI gateway's token); the
    // relay adds them on the way out, so the agent needs none.
    const { api_key: _key, api_base: _base, apiKey: _k, apiBase: _b, extraHeaders: _h, extra_headers: _eh, ...rest } = entry;
    providers[name] = { ...rest, apiKey: key, apiBase: `${relayUrl}/llm/${name}${agentSuffix(kindOf(name))}` };
  }
  return { ...admin, providers };
}

export type AgentConfigsOptions = {
  admin: AdminConfig;
  dataDir: string;
  secret: string;
  /** Settles once the relay listens and knows its address as agents see it. */
  relayUrl: Promise<string>;
};

export class AgentConfigs {
  constructor(private readonly options: AgentConfigsOptions) {}

  private get folder() {
    return join(this.options.dataDir, AGENT_CONFIG_DIR);
  }

  /**
   * Writes the user's file. In place (truncate and write, same inode): a running agent's bind
   * mount follows the file, which a rename over it would break.
   */
  async write(userId: string): Promise<void> {
    const config = deriveAgentConfig(this.options.admin.get(), {
      key: relayKey(this.options.secret, userId),
      relayUrl: await this.options.relayUrl,
    });
    await mkdir(this.folder, { recursive: true, mode: 0o700 });
    // Readable by the agent whatever user it runs as; the folder keeps others on the host out.
    await writeFile(agentConfigPath(this.options.dataDir, userId), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  }

  /** Rewrites every agent's file, e.g. after the admin changed config.json or the relay moved. */
  async writeAll(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch {
      return 0;
    }
    this.options.admin.get(true);
    const users = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
    for (const userId of users) await this.write(userId);
    return users.length;
  }

  /** Rewrites all files whenever the admin's file changes, until the signal aborts. */
  follow(signal: AbortSignal, intervalMs: number, onError: (err: unknown) => void): void {
    const timer = setInterval(() => {
      if (!this.options.admin.changed()) return;
      this.writeAll().catch(onError);
    }, intervalMs);
    timer.unref();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}
