/** Entry point with nanobot's command line: `gateway` serves the HTTP channel, `status` prints the settings and exits. */
import { ConfigError } from './config.ts';
import { statusReport } from './status.ts';

/** Room for a slow answer to finish; Docker itself waits only 10 s before SIGKILL unless the container has a longer StopTimeout. */
const DRAIN_TIMEOUT_MS = 20_000;

const USAGE = 'usage: nanobot <command>\n  gateway   serve the HTTP channel\n  status    print the provider, model and workspace, then exit';

const home = process.env.NANOBOT_HOME ?? '/root/.nanobot';

async function gateway(): Promise<void> {
  const port = Number(process.env.NANOBOT_HTTP_PORT ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`NANOBOT_HTTP_PORT must be a port number, not ${process.env.NANOBOT_HTTP_PORT}`);
    process.exit(2);
  }
  const token = process.env.NANOBOT_HTTP_TOKEN || undefined;
  // RFC 6750's token alphabet, which hono/bearer-auth enforces: any other token could never be sent.
  if (token && !/^[A-Za-z0-9._~+/-]+=*$/.test(token)) {
    console.error('NANOBOT_HTTP_TOKEN may contain only A-Z a-z 0-9 . _ ~ + / - (and trailing =)');
    process.exit(2);
  }
  // Loaded only to serve: `status` and the usage answer at once, without the SDKs and the web framework (0.1 s instead of 0.6 s).
  const { startAgentServer } = await import('./server.ts');
  const server = await startAgentServer({ home, port, hostname: process.env.NANOBOT_HTTP_HOST ?? '0.0.0.0', token });
  console.log(`nanobot tutor listening on port ${server.port}`);
  // A stop (docker stop sends SIGTERM, then SIGKILL after its grace period) lets the answers in flight
  // finish and be saved first, so neither the student's message nor the reply is lost.
  const shutdown = () => {
    console.log('stopping: finishing the answers in flight');
    void server.drain(DRAIN_TIMEOUT_MS).then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

const command = process.argv[2] ?? 'gateway';
try {
  if (command === 'gateway') {
    await gateway();
  } else if (command === 'status') {
    console.log(await statusReport(home));
  } else if (command === '--help' || command === 'help') {
    console.log(USAGE);
  } else {
    console.error(`unknown command: ${command}\n${USAGE}`);
    process.exit(2);
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `cannot start: ${(error as Error).message}`);
  process.exit(1);
}
