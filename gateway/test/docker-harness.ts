/** A real-engine test bed: the test agent image, counted Docker calls and in-process gateways. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildImage, REPO_ROOT } from '../../scripts/lib/images.ts';
import { createApp } from '../src/app.ts';
import { LABELS, createDockerRuntime } from '../src/runtime/docker.ts';
import { RouteTable } from '../src/runtime/route-table.ts';
import { serve } from '../src/serve.ts';
import type { Settings } from '../src/settings.ts';
import { testSettings, trustingUsers } from './helpers.ts';

export const AGENT_IMAGE = 'nbtest-gw-agent:latest';
export const NETWORK = 'nbtest-gw-net';
export { REPO_ROOT };

export async function buildTestAgent(): Promise<void> {
  await buildImage({ dockerfile: 'gateway/test/fixtures/Dockerfile', context: join(REPO_ROOT, 'gateway/test/fixtures'), tag: AGENT_IMAGE, quiet: true });
}

export type DockerCall = { method: string; path: string };

/** A dockerode client that records every Engine API request it makes. */
export function countingDocker(): { docker: Docker; calls: DockerCall[] } {
  const docker = new Docker();
  const calls: DockerCall[] = [];
  const modem = docker.modem as unknown as { dial: (opts: DockerCall, callback: unknown) => unknown };
  const dial = modem.dial.bind(modem);
  modem.dial = (opts, callback) => {
    calls.push({ method: opts.method, path: opts.path });
    return dial(opts, callback);
  };
  return { docker, calls };
}

/** Everything one test file needs: a unique instance label, a temp data folder and a shared config. */
export async function createTestBed() {
  const instance = `nbtest-gw-${crypto.randomUUID().slice(0, 8)}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'nbtest-gw-data-'));
  const configPath = join(dataDir, 'config.json');
  await writeFile(configPath, JSON.stringify({ agents: { defaults: { model: 'test' } } }));
  const env = {
    GATEWAY_INSTANCE: instance,
    AGENT_IMAGE,
    NETWORK_NAME: NETWORK,
    DATA_DIR: dataDir,
    CONFIG_PATH: configPath,
    AGENT_MEMORY: '128m',
    AGENT_CPUS: '0.5',
    AGENT_PIDS: '64',
    START_TIMEOUT_MS: '20000',
    UPSTREAM_TIMEOUT_MS: '3000',
    // The tests run outside the agents' network, so auto must settle on container IPs.
    AGENT_HOST_MODE: 'auto',
  };
  const docker = new Docker();
  const instances = new Set([instance]);

  async function containers(extraLabels: string[] = []) {
    const found = [];
    for (const name of instances) {
      found.push(...(await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${name}`, ...extraLabels] } })));
    }
    return found;
  }

  async function cleanup() {
    for (const c of await containers()) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }

  return {
    instance,
    dataDir,
    env,
    docker,
    containers,
    /** Another instance label whose containers cleanup() removes too. */
    instanceNamed(suffix: string) {
      const name = `${instance}-${suffix}`;
      instances.add(name);
      return name;
    },
    cleanup,
  };
}

export type TestGateway = Awaited<ReturnType<typeof startGateway>>;

/** A gateway on 127.0.0.1:0 wired like index.ts, with a counting Docker client. */
export async function startGateway(env: Record<string, string>) {
  const settings: Settings = testSettings(env);
  const { docker, calls } = countingDocker();
  const runtime = createDockerRuntime({ settings, docker });
  const routes = new RouteTable();
  const following = new AbortController();
  await routes.adopt(runtime);
  void routes.follow(runtime, following.signal);
  const app = createApp({ settings, runtime, users: trustingUsers(), routes, log: () => {} });
  const server = serve(app, { port: 0, hostname: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${server.port}`,
    settings,
    routes,
    calls,
    async stop() {
      following.abort();
      await server.stop(true);
    },
  };
}
