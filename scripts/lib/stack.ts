/** What setup and down share: where things are and how the stack is named. */
import { join } from 'node:path';
import { instanceFilterArgs } from '../../gateway/src/runtime/labels.ts';
import { readDotenv } from './dotenv.ts';

/** The repository's `.env`; no import of images.ts, so `bun run students` also runs inside the gateway image. */
export const ENV_PATH = join(import.meta.dir, '..', '..', '.env');

/** Settings from `.env`, with the process environment taking precedence. */
export function stackSetting(name: string, fallback: string): string {
  return process.env[name] || readDotenv(ENV_PATH).get(name) || fallback;
}

export const agentLabelFilters = () => instanceFilterArgs(stackSetting('GATEWAY_INSTANCE', 'default'));

/** The engine `.env` names (DOCKER_HOST, e.g. a rootless Podman socket) for every docker and Compose call; the environment wins. */
export function useStackEngine(): void {
  const dockerHost = stackSetting('DOCKER_HOST', '');
  if (dockerHost) process.env.DOCKER_HOST = dockerHost;
}
