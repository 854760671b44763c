/** Runs the gateway from the environment: `bun gateway/src/index.ts`. */
import { createUsers, openAccountStore } from './accounts/index.ts';
import { loadUserSettings } from './accounts/settings.ts';
import { createApp } from './app.ts';
import { jsonLog } from './log.ts';
import { createDockerRuntime } from './runtime/docker.ts';
import { RouteTable } from './runtime/route-table.ts';
import { serve } from './serve.ts';
import { loadSettings, SettingsError } from './settings.ts';

/** In-flight requests get this long to finish after SIGTERM before connections are cut. */
const SHUTDOWN_GRACE_MS = 25_000;

function settingsOrExit() {
  try {
    return { ...loadSettings(), users: loadUserSettings() };
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

const settings = settingsOrExit();
if (!settings.gatewayToken) jsonLog({ level: 'warn', msg: 'GATEWAY_ALLOW_NO_TOKEN=1: every caller is trusted' });

const runtime = createDockerRuntime({ settings });
const routes = new RouteTable();
const following = new AbortController();
void routes.follow(runtime, following.signal, jsonLog);

if (settings.users.trustEmailHeader) jsonLog({ level: 'warn', msg: 'GATEWAY_TRUST_EMAIL_HEADER=1: a bare X-User-Email is trusted' });
const store = settings.users.localAuthMode === 'accounts' ? openAccountStore(settings.dataDir, settings.users) : undefined;
const users = createUsers({ settings: settings.users, store });
const app = createApp({ settings, runtime, routes, users });
const server = serve(app, { port: settings.port, hostname: settings.hostname });
jsonLog({ level: 'info', msg: 'gateway listening', port: server.port, agentHostMode: settings.agentHostMode, instance: settings.instance });

async function shutdown(signal: string) {
  jsonLog({ level: 'info', msg: 'shutting down; agents keep running', signal });
  following.abort();
  const forced = setTimeout(() => void server.stop(true), SHUTDOWN_GRACE_MS);
  await server.stop(false);
  clearTimeout(forced);
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
