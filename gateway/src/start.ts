/** The whole gateway wired up: runtime, route table, event following and the HTTP server. */
import { join } from 'node:path';
import type Docker from 'dockerode';
import { Activity } from './agents/activity.ts';
import { Culler } from './agents/culler.ts';
import { HungWatch } from './agents/hung.ts';
import { Lifecycle } from './agents/lifecycle.ts';
import { RouteTable } from './agents/route-table.ts';
import { createUsers, openAccountStore } from './accounts/index.ts';
import { purgeDeletedEvery } from './admin/deleted.ts';
import { AgentObserver } from './agents/observer.ts';
import { createApp } from './app.ts';
import { createMetrics } from './metrics.ts';
import { jsonLog, type Log } from './log.ts';
import { startRelay } from './relay/start.ts';
import type { AgentIdentity } from './identity.ts';
import { dockerFromEnv, DockerRuntime } from './runtime/docker.ts';
import { SwarmRuntime } from './runtime/swarm.ts';
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
  lifecycle: Lifecycle;
  culler: Culler;
  /** Settles once the first adoption scan has recorded the agents already running. */
  adopted: Promise<void>;
  /** The LLM relay's base URL as agents see it, once it listens. */
  relayUrl: Promise<string>;
  /** Stops culling, following events, the server (`closeActive` cuts requests still in flight) and the relay, and saves the activity record. */
  stop(closeActive?: boolean): Promise<void>;
};

/** Last activity per user, under DATA_DIR (a dot folder, which no student id and no migration uses). */
export const ACTIVITY_FILE = '.state/activity.json';

/** Used by index.ts, the tests and the benchmark alike, so all three run the same gateway. */
export function startGateway(settings: Settings, { docker = dockerFromEnv(), log = jsonLog }: StartOptions = {}): Gateway {
  const metrics = createMetrics();
  const relay = startRelay(settings, docker, log, metrics);
  const writeConfig = (identity: AgentIdentity) => relay.configs.write(identity.id);
  const runtime = settings.agents.runtime === 'swarm' ? new SwarmRuntime(docker, settings.agents, writeConfig) : new DockerRuntime(docker, settings.agents, writeConfig);
  const routes = new RouteTable();
  const following = new AbortController();
  const adopted = Promise.withResolvers<void>();
  let scans = 0;
  // Every adoption scan after the first follows a broken events stream.
  const onAdopted = () => {
    if ((scans += 1) > 1) metrics.eventsReconnects.inc();
    adopted.resolve();
  };
  void routes.follow(runtime, following.signal, log, onAdopted);
  const store = settings.users.localAuthMode === 'accounts' ? openAccountStore(settings.users) : undefined;
  const users = createUsers({ settings: settings.users, store, log });
  const activity = new Activity();
  const activityFile = join(settings.agents.dataDir, ACTIVITY_FILE);
  const observer = new AgentObserver(log, metrics);
  const lifecycle = new Lifecycle({ runtime, routes, activity, settings: settings.lifecycle, startTimeoutMs: settings.agents.startTimeoutMs, log, onState: observer.observe });
  const culler = new Culler({ runtime, lifecycle, activity, policy: settings.lifecycle, activityFile, log, onCull: (action) => metrics.culls.inc({ action }) });
  const hung = new HungWatch({
    routes,
    lifecycle,
    policy: { restartAfterMs: settings.lifecycle.hungRestartAfterMs, checkTimeoutMs: settings.server.healthRecheckMs },
    log,
    onRestart: () => metrics.hungRestarts.inc(),
  });
  const stopPurging = purgeDeletedEvery(settings.admin.dataDir, settings.admin.deletedRetentionMs, log);
  // Culling begins once the last run's activity is read and the running agents are adopted.
  void Promise.all([activity.load(activityFile), adopted.promise]).then(() => culler.start());
  void adopted.promise.then(() => hung.start());
  const server = serve(createApp({ settings, runtime, routes, users, log, usage: relay.store, activity, lifecycle, metrics, observer, inspector: runtime }), settings.server);
  const host = ['0.0.0.0', '::'].includes(settings.server.hostname) ? '127.0.0.1' : settings.server.hostname;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`,
    routes,
    lifecycle,
    culler,
    adopted: adopted.promise,
    relayUrl: relay.url,
    async stop(closeActive = false) {
      following.abort();
      stopPurging();
      await server.stop(closeActive);
      await relay.stop();
      await culler.close();
      await hung.close();
    },
  };
}
