/** The whole gateway wired up: runtime, route table, event following and the HTTP server. */
import type Docker from 'dockerode';
import { RouteTable } from './agents/route-table.ts';
import { createUsers, openAccountStore } from './accounts/index.ts';
import { createApp } from './app.ts';
import { jsonLog, type Log } from './log.ts';
import { startRelay } from './relay/start.ts';
import { dockerFromEnv, DockerRuntime } from './runtime/docker.ts';
import { serve } from './serve.ts';
import type { Settings } from './settings.ts';

export type StartOptions = {
  /** The Docker client; by default the engine of DOCKER_HOST. Tests pass one that counts calls. */
  docker?: Docker;
  log?: Log;
};

export type Gateway = {
  /** Where the server listens; a wildcard listen address is given as 127.0.0.1. */
  url: string;
  routes: RouteTable;
  /** Settles once the first adoption scan has recorded the agents already running. */
  adopted: Promise<void>;
  /** The LLM relay's base URL as agents see it, once it listens. */
  relayUrl: Promise<string>;
  /** Stops following events and closes the server; `closeActive` cuts requests still in flight. */
  stop(closeActive?: boolean): Promise<void>;
};

/** Used by index.ts, the tests and the benchmark alike, so all three run the same gateway. */
export function startGateway(settings: Settings, { docker = dockerFromEnv(), log = jsonLog }: StartOptions = {}): Gateway {
  const relay = startRelay(settings, docker, log);
  const runtime = new DockerRuntime(docker, settings.agents, (identity) => relay.configs.write(identity.id));
  const routes = new RouteTable();
  const following = new AbortController();
  const adopted = Promise.withResolvers<void>();
  void routes.follow(runtime, following.signal, log, adopted.resolve);
  const store = settings.users.localAuthMode === 'accounts' ? openAccountStore(settings.users) : undefined;
  const users = createUsers({ settings: settings.users, store, log });
  const server = serve(createApp({ settings, runtime, routes, users, log, usage: relay.store }), settings.server);
  const host = ['0.0.0.0', '::'].includes(settings.server.hostname) ? '127.0.0.1' : settings.server.hostname;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`,
    routes,
    adopted: adopted.promise,
    relayUrl: relay.url,
    async stop(closeActive = false) {
      following.abort();
      await server.stop(closeActive);
      await relay.stop();
    },
  };
}
