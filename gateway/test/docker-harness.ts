/** A real-engine test bed: the test agent image, a data folder per file, and in-process gateways. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildImage, REPO_ROOT } from '../../scripts/lib/images.ts';
import { countingDocker } from '../../test/support/docker-calls.ts';
import type { Log } from '../src/log.ts';
import { instanceLabelFilters } from '../src/runtime/labels.ts';
import { startGateway } from '../src/start.ts';
import { testSettings } from './helpers.ts';

export const AGENT_IMAGE = 'nbtest-gw-agent:latest';
export const NETWORK = 'nbtest-gw-net';
export { REPO_ROOT };

export async function buildTestAgent(): Promise<void> {
  await buildImage({ dockerfile: 'gateway/test/fixtures/Dockerfile', context: join(REPO_ROOT, 'gateway/test/fixtures'), tag: AGENT_IMAGE, quiet: true });
}

/** The stand-in for the real nanobot image (fixtures/nanobot-standin): serves only as `nanobot gateway`, with an API key. */
export const STANDIN_IMAGE = 'nbtest-gw-standin:latest';

export async function buildStandIn(): Promise<void> {
  const context = join(REPO_ROOT, 'gateway/test/fixtures/nanobot-standin');
  await buildImage({ dockerfile: 'gateway/test/fixtures/nanobot-standin/Dockerfile', context, tag: STANDIN_IMAGE, quiet: true });
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
    // Several gateways run at once: each relay takes a free port on the network's gateway address.
    RELAY_PORT: '0',
  };
  const docker = new Docker();
  const instances = new Set([instance]);

  async function containers(extraLabels: string[] = []) {
    const found = [];
    for (const name of instances) {
      found.push(...(await docker.listContainers({ all: true, filters: { label: [...instanceLabelFilters(name), ...extraLabels] } })));
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

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>;

/** The gateway of index.ts on 127.0.0.1:0, with a counting Docker client, once it has adopted what runs. */
export async function startTestGateway(env: Record<string, string>, { log = () => {} }: { log?: Log } = {}) {
  const settings = testSettings({ ...env, PORT: '0', LISTEN_HOST: '127.0.0.1' });
  const { docker, calls } = countingDocker();
  const gateway = startGateway(settings, { docker, log });
  await gateway.adopted;
  return { ...gateway, settings, calls, stop: () => gateway.stop(true) };
}

/** The reference agent (agent/), built under a tag of the fault tests' own: they may remove and re-tag it. */
export const TUTOR_IMAGE = 'nbtest-faults-tutor:latest';

export async function buildTutor(): Promise<void> {
  await buildImage({ dockerfile: 'agent/Dockerfile', tag: TUTOR_IMAGE, quiet: true });
}
