/** Entry point, called as nanobot is: `index.ts gateway`. */
import { ConfigError } from './config.ts';
import { startAgentServer } from './server.ts';

/** Room for a slow answer to finish; Docker itself waits only 10 s before SIGKILL unless the container has a longer StopTimeout. */
const DRAIN_TIMEOUT_MS = 20_000;

const command = process.argv[2] ?? 'gateway';
if (command !== 'gateway') {
  console.error(`usage: bun agent/src/index.ts gateway (unknown command: ${command})`);
  process.exit(2);
}

const port = Number(process.env.NANOBOT_HTTP_PORT ?? 8000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`NANOBOT_HTTP_PORT must be a port number, not ${process.env.NANOBOT_HTTP_PORT}`);
  process.exit(2);
}

try {
  const server = await startAgentServer({
    home: process.env.NANOBOT_HOME ?? '/root/.nanobot',
    port,
    hostname: process.env.NANOBOT_HTTP_HOST ?? '0.0.0.0',
    token: process.env.NANOBOT_HTTP_TOKEN || undefined,
  });
  console.log(`nanobot tutor listening on port ${server.port}`);
  // A stop (docker stop sends SIGTERM, then SIGKILL after its grace period) lets the answers in flight
  // finish and be saved first, so neither the student's message nor the reply is lost.
  const shutdown = () => {
    console.log('stopping: finishing the answers in flight');
    void server.drain(DRAIN_TIMEOUT_MS).then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `cannot start: ${(error as Error).message}`);
  process.exit(1);
}
