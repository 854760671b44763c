/** Entry point, called as nanobot is: `index.ts gateway`. */
import { ConfigError } from './config.ts';
import { startAgentServer } from './server.ts';

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
  const shutdown = () => void server.stop().then(() => process.exit(0));
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `cannot start: ${(error as Error).message}`);
  process.exit(1);
}
