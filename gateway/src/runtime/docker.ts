/** The Docker Engine implementation of AgentRuntime: the only module that talks to dockerode. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { agentToken, type AgentIdentity } from '../identity.ts';
import type { AgentSettings } from '../settings.ts';
import { AgentStartError, type AgentEvent, type AgentRuntime, type AgentSummary, type RunningAgent } from './types.ts';

export const LABELS = {
  managed: 'nanobot.managed',
  userId: 'nanobot.user-id',
  email: 'nanobot.email',
  instance: 'nanobot.instance',
  /** A hash of the agent's token, so a scan can tell agents made under another AGENT_TOKEN_SECRET. */
  tokenFingerprint: 'nanobot.token-fingerprint',
} as const;

const fingerprint = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 16);

export type DockerRuntimeOptions = {
  settings: AgentSettings;
  /** Injected so tests can count or fake engine calls; by default the engine of DOCKER_HOST. */
  docker?: Docker;
};

const statusOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;

/** Engine errors carry a JSON body; its `message` is the sentence worth showing. */
const messageOf = (err: unknown): string => {
  const json = typeof err === 'object' && err !== null && 'json' in err ? (err.json as { message?: unknown } | null) : null;
  return typeof json?.message === 'string' ? json.message : String(err);
};

/** Turns a `tcp://host:port` or socket-path DOCKER_HOST into dockerode options. */
export function dockerFromEnv(dockerHost = process.env.DOCKER_HOST): Docker {
  if (!dockerHost) return new Docker();
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  if (dockerHost.startsWith('/')) return new Docker({ socketPath: dockerHost });
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

export function createDockerRuntime({ settings, docker = dockerFromEnv() }: DockerRuntimeOptions): AgentRuntime {
  const instanceFilter = [`${LABELS.managed}=true`, `${LABELS.instance}=${settings.instance}`];
  /** Addresses this runtime already looked up, so start events for them need no further inspect. */
  const known = new Map<string, RunningAgent>();

  let addressMode: 'name' | 'ip' | undefined = settings.hostMode === 'auto' ? undefined : settings.hostMode;

  /**
   * Agent names resolve only for a gateway that is itself a container on NETWORK_NAME (compose);
   * anywhere else (the host, another container) only their IPs route. A container's host name is
   * its id, so the gateway looks itself up once; not finding itself means it is not on this engine.
   */
  async function resolveAddressMode(): Promise<'name' | 'ip'> {
    if (addressMode) return addressMode;
    try {
      const self = await docker.getContainer(hostname()).inspect();
      addressMode = self.NetworkSettings.Networks[settings.networkName] ? 'name' : 'ip';
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      addressMode = 'ip';
    }
    return addressMode;
  }

  /** By name on the shared network when the gateway is on it; by container IP otherwise. */
  function urlOf(info: Docker.ContainerInspectInfo): string {
    const name = info.Name.replace(/^\//, '');
    if (addressMode === 'name') return `http://${name}:${settings.port}`;
    const ip = info.NetworkSettings.Networks[settings.networkName]?.IPAddress;
    if (!ip) throw new AgentStartError(`Agent ${name} has no address on network ${settings.networkName}.`, 'engine_error');
    return `http://${ip}:${settings.port}`;
  }

  function running(info: Docker.ContainerInspectInfo): RunningAgent {
    const agent = { userId: info.Config.Labels[LABELS.userId] ?? '', instanceId: info.Id, url: urlOf(info) };
    known.set(agent.instanceId, agent);
    return agent;
  }

  async function ensureNetwork(): Promise<void> {
    try {
      await docker.getNetwork(settings.networkName).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await docker.createNetwork({ Name: settings.networkName, Driver: 'bridge', CheckDuplicate: true });
      } catch (createErr) {
        // Another gateway (or setup) created it in the meantime.
        if (statusOf(createErr) !== 409) throw createErr;
      }
    }
  }

  const missingImage = () =>
    new AgentStartError(`The agent image ${settings.image} is not available on the Docker Engine.`, 'image_missing');
  const tokenOf = (containerName: string) => agentToken(settings.tokenSecret, containerName);

  async function create(identity: AgentIdentity): Promise<Docker.Container> {
    if (!existsSync(settings.configPath)) {
      throw new AgentStartError(`The shared agent config ${settings.configPath} does not exist.`, 'config_missing');
    }
    await ensureNetwork();
    // Created by the gateway first, so Docker never makes the bind source itself (root-owned, wrong mode).
    await mkdir(join(settings.dataDir, identity.id), { recursive: true, mode: 0o700 });
    try {
      return await docker.createContainer({
        name: identity.containerName,
        Image: settings.image,
        // The agent finishes the answers in flight for up to 20 s after SIGTERM; Docker's default is 10.
        StopTimeout: 25,
        Env: [
          `NANOBOT_HTTP_PORT=${settings.port}`,
          `NANOBOT_HTTP_TOKEN=${tokenOf(identity.containerName)}`,
        ],
        Labels: {
          [LABELS.managed]: 'true',
          [LABELS.userId]: identity.id,
          [LABELS.email]: identity.email,
          [LABELS.instance]: settings.instance,
          [LABELS.tokenFingerprint]: fingerprint(tokenOf(identity.containerName)),
        },
        HostConfig: {
          Binds: [
            `${join(settings.hostDataDir, identity.id)}:/root/.nanobot`,
            `${settings.hostConfigPath}:/root/.nanobot/config.json:ro`,
          ],
          NetworkMode: settings.networkName,
          Memory: settings.memoryBytes,
          NanoCpus: Math.round(settings.cpus * 1e9),
          PidsLimit: settings.pids,
          SecurityOpt: ['no-new-privileges:true'],
          CapDrop: ['ALL'],
          RestartPolicy: { Name: 'unless-stopped' },
        },
      });
    } catch (err) {
      const status = statusOf(err);
      // Name taken: another request or gateway created it first; use that one.
      if (status === 409) return docker.getContainer(identity.containerName);
      if (status === 404) throw missingImage();
      throw err;
    }
  }

  async function start(container: Docker.Container): Promise<void> {
    try {
      await container.start();
    } catch (err) {
      // 304: already running, which is what we wanted.
      if (statusOf(err) !== 304) throw err;
    }
  }

  /** The image id AGENT_IMAGE names now; a 404 means the image is missing. */
  async function currentImageId(): Promise<string> {
    try {
      return (await docker.getImage(settings.image).inspect()).Id;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      throw missingImage();
    }
  }

  /**
   * An agent made from an older AGENT_IMAGE, or holding a token from another AGENT_TOKEN_SECRET,
   * would keep running the old code or refuse every request; its data is in the bind mount, so
   * it is replaced rather than reused.
   */
  async function isOutdated(info: Docker.ContainerInspectInfo, identity: AgentIdentity): Promise<boolean> {
    const token = `NANOBOT_HTTP_TOKEN=${tokenOf(identity.containerName)}`;
    return !(info.Config.Env ?? []).includes(token) || info.Image !== (await currentImageId());
  }

  async function createAndStart(identity: AgentIdentity): Promise<RunningAgent> {
    const container = await create(identity);
    await start(container);
    return running(await container.inspect());
  }

  async function ensure(identity: AgentIdentity): Promise<RunningAgent> {
    try {
      await resolveAddressMode();
      const container = docker.getContainer(identity.containerName);
      let info: Docker.ContainerInspectInfo;
      try {
        info = await container.inspect();
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        return await createAndStart(identity);
      }
      if (await isOutdated(info, identity)) {
        await container.remove({ force: true });
        return await createAndStart(identity);
      }
      if (info.State.Running && !info.State.Restarting) return running(info);
      await start(container);
      return running(await container.inspect());
    } catch (err) {
      if (err instanceof AgentStartError) throw err;
      if (statusOf(err) === undefined) {
        throw new AgentStartError(`The Docker Engine is unreachable: ${messageOf(err)}`, 'engine_unreachable');
      }
      throw new AgentStartError(`The Docker Engine refused to start the agent: ${messageOf(err)}`, 'engine_error');
    }
  }

  async function stop(userId: string): Promise<void> {
    const [found] = await docker.listContainers({ all: true, filters: { label: [...instanceFilter, `${LABELS.userId}=${userId}`] } });
    if (!found) return;
    try {
      await docker.getContainer(found.Id).stop();
    } catch (err) {
      // 304: already stopped; 404: already gone.
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
  }

  async function list(): Promise<AgentSummary[]> {
    const mode = await resolveAddressMode();
    const containers = await docker.listContainers({ all: true, filters: { label: instanceFilter } });
    const imageId = await currentImageId().catch(() => undefined);
    return containers.map((c) => {
      const ip = c.NetworkSettings?.Networks[settings.networkName]?.IPAddress;
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      const url =
        c.State !== 'running' ? undefined
        : mode === 'name' ? `http://${name}:${settings.port}`
        : ip ? `http://${ip}:${settings.port}`
        : undefined;
      return {
        userId: c.Labels[LABELS.userId] ?? '',
        email: c.Labels[LABELS.email] ?? '',
        instanceId: c.Id,
        name,
        state: c.State,
        outdated:
          (imageId !== undefined && c.ImageID !== imageId) ||
          c.Labels[LABELS.tokenFingerprint] !== fingerprint(tokenOf(name)),
        ...(url === undefined ? {} : { url }),
      };
    });
  }

  async function* events(signal: AbortSignal): AsyncIterable<AgentEvent> {
    await resolveAddressMode();
    // Containers may have restarted with new addresses while no stream was listening.
    known.clear();
    const stream = await docker.getEvents({
      filters: { type: ['container'], label: instanceFilter, event: ['start', 'die', 'destroy'] },
      abortSignal: signal,
    });
    let buffered = '';
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
        const userId = event.Actor.Attributes[LABELS.userId] ?? '';
        if (event.Action !== 'start') {
          known.delete(event.Actor.ID);
          yield { type: 'gone', userId, instanceId: event.Actor.ID };
          continue;
        }
        const seen = known.get(event.Actor.ID);
        if (seen) {
          yield { type: 'running', agent: seen };
          continue;
        }
        try {
          yield { type: 'running', agent: running(await docker.getContainer(event.Actor.ID).inspect()) };
        } catch (err) {
          // Gone again before we looked: its destroy event follows.
          if (statusOf(err) !== 404) throw err;
        }
      }
    }
  }

  async function checkReady(): Promise<void> {
    await docker.ping();
    await docker.getImage(settings.image).inspect();
  }

  return { ensure, stop, list, events, checkReady };
}
