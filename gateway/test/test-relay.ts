/** The LLM relay on a loopback port, over a temporary folder with the admin's config.json and a usage store. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminConfig } from '../src/relay/admin-config.ts';
import { RelayLimits } from '../src/relay/limits.ts';
import { createRelayApp, type RelayAppOptions } from '../src/relay/relay-app.ts';
import { UsageStore } from '../src/relay/store.ts';

export type TestRelayOptions = {
  /** config.json's `providers`: the real keys and where each provider is. */
  providers: Record<string, { apiKey: string; apiBase?: string; extraHeaders?: Record<string, string> }>;
  /** AGENT_TOKEN_SECRET: the relay keys' HMAC key. */
  secret: string;
  /** Daily and per-minute limits; each 0 (none) unless given. */
  limits?: Partial<{ tokensPerDay: number; requestsPerMinute: number; globalTokensPerDay: number }>;
  maxBodyBytes?: number;
  upstreamTimeoutMs?: number;
  countUsage?: RelayAppOptions['countUsage'];
  onError?: RelayAppOptions['onError'];
};

export type TestRelay = {
  /** `http://127.0.0.1:<port>`; agents and tests call `<url>/llm/<provider>/…`. */
  url: string;
  port: number;
  store: UsageStore;
  stop: () => Promise<void>;
};

export async function startTestRelay({ providers, secret, limits = {}, maxBodyBytes = 64 * 1024, upstreamTimeoutMs = 5000, countUsage, onError }: TestRelayOptions): Promise<TestRelay> {
  const dir = await mkdtemp(join(tmpdir(), 'nbtest-relay-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({ providers }));
  const store = new UsageStore(join(dir, 'usage.db'));
  const app = createRelayApp({
    admin: new AdminConfig(configPath),
    store,
    limits: new RelayLimits({ tokensPerDay: 0, requestsPerMinute: 0, globalTokensPerDay: 0, ...limits }, store),
    secret,
    maxBodyBytes,
    upstreamTimeoutMs,
    countUsage,
    onError,
  });
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app.fetch });
  const port = server.port ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    store,
    stop: async () => {
      await server.stop(true);
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
