/** A throwaway copy of the repository brought up with `bun run setup`, for the full-stack test. */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findCompose } from '../scripts/lib/compose.ts';
import { REPO_ROOT } from '../scripts/lib/images.ts';
import { capture, run } from '../scripts/lib/run.ts';
import { instanceFilterArgs } from '../gateway/src/runtime/labels.ts';
import { eventually } from './support/eventually.ts';

export type Stack = {
  dir: string;
  name: string;
  webUrl: string;
  gatewayUrl: string;
  network: string;
  instance: string;
  compose: (...args: string[]) => Promise<void>;
  /** Names of the agent containers this stack's gateway has created, running or not. */
  agentContainers: () => Promise<string[]>;
  destroy: () => Promise<void>;
};

export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = server.port!;
  await server.stop(true);
  return port;
}

/** Copies the files git knows (committed or not, minus ignored ones) into a new folder. */
export async function copyRepository(target: string): Promise<void> {
  const listed = await capture(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT });
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(target, file), { errorOnExist: false });
  }
}

export async function createStack(config: object, preset: Record<string, string> = {}): Promise<Stack> {
  const compose = await findCompose();
  if (!compose) throw new Error('Docker Compose is missing: the full-stack test needs docker compose or docker-compose.');
  const name = `nbstack${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  await copyRepository(dir);
  const [webPort, gatewayPort] = [await freePort(), await freePort()];
  const network = preset.NETWORK_NAME ?? `${name}-net`;
  const instance = name;
  const env = {
    COMPOSE_PROJECT_NAME: name,
    WEB_PORT: String(webPort),
    WEB_BIND: '127.0.0.1',
    GATEWAY_PORT: String(gatewayPort),
    NETWORK_NAME: network,
    GATEWAY_INSTANCE: instance,
    ...preset,
  };
  writeFileSync(join(dir, '.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const labels = instanceFilterArgs(instance);

  return {
    dir,
    name,
    network,
    instance,
    webUrl: `http://127.0.0.1:${webPort}`,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    compose: (...args) => run([...compose, ...args], { cwd: dir }),
    agentContainers: async () =>
      (await capture(['docker', 'ps', '-a', '--format', '{{.Names}}', ...labels])).stdout.split('\n').filter(Boolean).sort(),
    destroy: async () => {
      await capture([...compose, 'down', '--timeout', '2'], { cwd: dir });
      const ids = (await capture(['docker', 'ps', '-aq', ...labels])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await capture(['docker', 'rm', '-f', ...ids]);
      // The engine can take a moment to release the endpoints of containers it just removed.
      await eventually(async () => {
        const removed = await capture(['docker', 'network', 'rm', network]);
        if (removed.code !== 0 && !removed.stderr.includes('not found')) throw new Error(removed.stderr);
      }, 30_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
