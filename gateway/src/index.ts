/** Runs the gateway from the environment: `sh gateway/start.sh` (which runs this file), or `bun gateway/src/index.ts`. */
import { jsonLog } from './log.ts';
import { loadSettings, SettingsError } from './settings.ts';
import { startGateway } from './start.ts';

/** In-flight requests get this long to finish after SIGTERM before connections are cut. */
const SHUTDOWN_GRACE_MS = 25_000;

function settingsOrExit() {
  try {
    return loadSettings();
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

const settings = settingsOrExit();
if (!settings.server.gatewayToken) jsonLog({ level: 'warn', msg: 'GATEWAY_ALLOW_NO_TOKEN=1: every caller is trusted' });
if (settings.users.trustEmailHeader) jsonLog({ level: 'warn', msg: 'GATEWAY_TRUST_EMAIL_HEADER=1: a bare X-User-Email is trusted' });

const gateway = startGateway(settings);
const port = Number(new URL(gateway.url).port);
jsonLog({ level: 'info', msg: 'gateway listening', port, agentHostMode: settings.agents.hostMode, instance: settings.agents.instance });

async function shutdown(signal: string) {
  jsonLog({ level: 'info', msg: 'shutting down; agents keep running', signal });
  const forced = setTimeout(() => void gateway.stop(true), SHUTDOWN_GRACE_MS);
  await gateway.stop(false);
  clearTimeout(forced);
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
