/** The relay wired up: usage store, limits, the agents' configs and the second listener. */
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Log } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Settings } from '../settings.ts';
import { AdminConfig } from './admin-config.ts';
import { AgentConfigs } from './agent-config.ts';
import { RelayLimits } from './limits.ts';
import { resolveRelayAddress } from './listen.ts';
import { relayMetrics } from './metrics.ts';
import { createRelayApp } from './relay-app.ts';
import { UsageStore } from './store.ts';

/** How often the admin's config.json is checked for changes to carry into the agents' copies. */
const CONFIG_CHECK_MS = 2000;

export const usageDbPath = (dataDir: string) => join(dataDir, '.state', 'usage.db');

export type Relay = {
  store: UsageStore;
  limits: RelayLimits;
  configs: AgentConfigs;
  /** The relay's base URL as agents see it, once it listens; rejects when it cannot listen. */
  url: Promise<string>;
  stop(): Promise<void>;
};

export function startRelay(settings: Settings, docker: Docker, log: Log, metrics: Metrics): Relay {
  const admin = new AdminConfig(settings.agents.configPath);
  const store = new UsageStore(usageDbPath(settings.agents.dataDir));
  const limits = new RelayLimits(settings.relay, store);
  const onError = (err: unknown) => log({ level: 'error', msg: 'relay error', error: err instanceof Error ? err.message : String(err) });
  const app = createRelayApp({
    admin,
    store,
    limits,
    secret: settings.agents.tokenSecret,
    maxBodyBytes: settings.relay.maxBodyBytes,
    upstreamTimeoutMs: settings.server.upstreamTimeoutMs,
    onError,
    log,
    countUsage: relayMetrics(metrics.registry),
  });

  const listening = resolveRelayAddress(docker, settings.relay, settings.agents).then((address) => {
    const server = Bun.serve({
      port: settings.relay.port,
      hostname: address.hostname,
      // The relay answers an oversized body with its own JSON 413.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch(req, srv) {
        // Answers stream for minutes with quiet gaps, as through the main listener.
        srv.timeout(req, 0);
        return app.fetch(req);
      },
    });
    const host = address.hostname.includes(':') ? `[${address.hostname}]` : address.hostname;
    return { server, url: address.url ?? `http://${host}:${server.port}` };
  });
  const url = listening.then((l) => l.url);
  url.catch((err: unknown) => log({ level: 'error', msg: 'the LLM relay cannot listen; agents cannot be started', error: String(err) }));

  const configs = new AgentConfigs({ admin, dataDir: settings.agents.dataDir, secret: settings.agents.tokenSecret, relayUrl: url });
  const following = new AbortController();
  // The relay's address may differ from the last run's: bring every agent's copy up to date.
  url.then(() => configs.writeAll()).catch(onError);
  configs.follow(following.signal, CONFIG_CHECK_MS, onError);

  return {
    store,
    limits,
    configs,
    url,
    async stop() {
      following.abort();
      const l = await listening.catch(() => undefined);
      await l?.server.stop(true);
      store.close();
    },
  };
}
