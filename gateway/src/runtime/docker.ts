/** The Docker Engine implementation of AgentRuntime: the only module that talks to dockerode. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { AgentIdentity } from '../identity.ts';
import type { AgentSettings } from '../settings.ts';
import { agentEnv, agentLabels, agentMounts, agentRevision, matchesSettings, isOurs, LOG_OPTIONS, MAX_RESTARTS, messageOf, statusOf, STOP_TIMEOUT_SECONDS } from './agent-spec.ts';
import { demuxLogs, lastLines } from './container-output.ts';
import { agentOwner, prepareDataFolder } from './data-folder.ts';
import { instanceLabelFilters, LABELS } from './labels.ts';
import {
  AgentStartError,
  type AgentDetails,
  type AgentEvent,
  type EngineHealth,
  type AgentExit,
  type AgentInspector,
  type AgentRuntime,
  type AgentSummary,
  type AgentUsage,
  type EnsureProgress,
  type RunningAgent,
} from './types.ts';

/** How the gateway reaches agents: by container name on the shared network, or by container IP. */
export type AddressMode = 'name' | 'ip';

/** What addressOf and isOutdated need of a container; both inspect and list answers carry it. */
export type ContainerFacts = {
  /** Container name, with or without Docker's leading slash. */
  name: string;
  labels: Record<string, string>;
  imageId: string;
  /** The container's IP on the agents' network, when it has one. */
  ip: string | undefined;
};

/** How often a starting agent's state is checked, so an exit is answered well within 2 s. */
const EXIT_POLL_MS = 250;
/** Output lines kept for the log when an agent exits at start. */
const EXIT_LINES = 20;

/** What every agent container gets whatever the settings; the bench's bare-engine baseline uses it too. */
export const AGENT_HARDENING = {
  SecurityOpt: ['no-new-privileges:true'],
  CapDrop: ['ALL'],
  // Scratch space that does not outlive the container; counted in its memory limit.
  Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
  // A chatty or crash-looping agent cannot fill the host's disk with its log.
  LogConfig: { Type: 'json-file', Config: LOG_OPTIONS },
  // Crashes are retried a few times, not forever; a stopped agent is started by its user's next request.
  RestartPolicy: { Name: 'on-failure', MaximumRetryCount: MAX_RESTARTS },
} satisfies Docker.HostConfig;

/** Everything Docker is told when it creates a user's agent: pure, so it is tested without an engine. */
export function containerSpec(identity: AgentIdentity, settings: AgentSettings): Docker.ContainerCreateOptions {
  return {
    name: identity.containerName,
    Image: settings.image,
    // nanobot's image runs `status` by default; an empty AGENT_COMMAND keeps the image's CMD.
    ...(settings.command.length > 0 ? { Cmd: settings.command } : {}),
    StopTimeout: STOP_TIMEOUT_SECONDS,
    Env: agentEnv(identity, settings),
    Labels: agentLabels(identity, settings),
    HostConfig: {
      Binds: agentMounts(identity, settings).map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      NetworkMode: settings.networkName,
      Memory: settings.memoryBytes,
      NanoCpus: Math.round(settings.cpus * 1e9),
      PidsLimit: settings.pids,
      ReadonlyRootfs: settings.readOnly,
      ...AGENT_HARDENING,
    },
  };
}

/** By name on the shared network when the gateway is on it; by container IP otherwise. */
export function addressOf(container: ContainerFacts, mode: AddressMode, port: number): string | undefined {
  if (mode === 'name') return `http://${container.name.replace(/^\//, '')}:${port}`;
  return container.ip ? `http://${container.ip}:${port}` : undefined;
}

/**
 * An agent made from an older AGENT_IMAGE, or holding a token from another AGENT_TOKEN_SECRET,
 * would keep running the old code or refuse every request; its data is in the bind mount, so
 * it is replaced rather than reused. An unknown current image (undefined) outdates nothing.
 */
export function isOutdated(container: ContainerFacts, settings: AgentSettings, currentImageId: string | undefined): boolean {
  return (
    !matchesSettings(container.name.replace(/^\//, ''), container.labels, settings) ||
    (currentImageId !== undefined && container.imageId !== currentImageId)
  );
}

const factsOfInspect = (info: Docker.ContainerInspectInfo, networkName: string): ContainerFacts => ({
  name: info.Name,
  labels: info.Config.Labels ?? {},
  imageId: info.Image,
  ip: info.NetworkSettings.Networks[networkName]?.IPAddress || undefined,
});

const factsOfListing = (c: Docker.ContainerInfo, networkName: string): ContainerFacts => ({
  name: c.Names[0] ?? '',
  labels: c.Labels,
  imageId: c.ImageID,
  ip: c.NetworkSettings?.Networks[networkName]?.IPAddress || undefined,
});

/** Turns a `tcp://host:port` or socket-path DOCKER_HOST into dockerode options. */
export function dockerFromEnv(dockerHost = process.env.DOCKER_HOST): Docker {
  if (!dockerHost) return new Docker();
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  if (dockerHost.startsWith('/')) return new Docker({ socketPath: dockerHost });
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

/**
 * AGENT_HOST_MODE resolved: agent names resolve only for a gateway that is itself a container on
 * NETWORK_NAME (compose); anywhere else (the host, another container) only their IPs route. A
 * container's host name is its id, so the gateway looks itself up; not finding itself means it is
 * not on this engine.
 */
export async function resolveAddressMode(docker: Docker, settings: AgentSettings, selfName = hostname()): Promise<AddressMode> {
  if (settings.hostMode !== 'auto') return settings.hostMode;
  try {
    const self = await docker.getContainer(selfName).inspect();
    return self.NetworkSettings.Networks[settings.networkName] ? 'name' : 'ip';
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    return 'ip';
  }
}

/** Docker's zero time stands for "never". */
const timeOrUndefined = (value: string | undefined): string | undefined => (value && !value.startsWith('0001-') ? value : undefined);

/** At most `limit` calls at once: an admin listing of hundreds of agents must not flood the engine. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const ENGINE_CALLS_AT_ONCE = 8;

/** A container's memory and CPU now, for either runtime; undefined when it is gone or not running. */
export async function containerUsage(docker: Docker, containerId: string): Promise<AgentUsage | undefined> {
  try {
    // One-shot: the engine answers at once instead of sampling for a second; CPU is then a running total.
    const stats = await docker.getContainer(containerId).stats({ stream: false, 'one-shot': true });
    if (!stats.memory_stats?.usage) return undefined;
    // As `docker stats` shows it: the page cache the kernel can drop is not the agent's memory.
    const cache = stats.memory_stats.stats?.inactive_file ?? stats.memory_stats.stats?.total_inactive_file ?? 0;
    return {
      memoryBytes: Math.max(0, stats.memory_stats.usage - cache),
      memoryLimitBytes: stats.memory_stats.limit,
      cpuNs: stats.cpu_stats.cpu_usage.total_usage,
      systemCpuNs: stats.cpu_stats.system_cpu_usage,
      cpus: stats.cpu_stats.online_cpus || 1,
    };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** Whether the engine answers and holds the agent image: the admin page's health panel, for either runtime. */
export async function engineHealth(docker: Docker, image: string): Promise<EngineHealth> {
  const reachable = await docker.ping().then(() => true, () => false);
  const imagePresent = reachable && (await docker.getImage(image).inspect().then(() => true, () => false));
  return { reachable, image, imagePresent };
}

export class DockerRuntime implements AgentRuntime, AgentInspector {
  private readonly filters: string[];
  /** Resolved once, on first use; a failed lookup is retried by the next call. */
  private addressMode: Promise<AddressMode> | undefined;

  /**
   * The client is injected so tests can count or fake engine calls; see dockerFromEnv.
   * `prepareConfig` writes the user's keyless config.json before their container is created.
   */
  constructor(
    private readonly docker: Docker,
    private readonly settings: AgentSettings,
    private readonly prepareConfig: (identity: AgentIdentity) => Promise<void> = async () => {},
  ) {
    this.filters = instanceLabelFilters(settings.instance);
  }

  async ensure(identity: AgentIdentity, progress: EnsureProgress = () => {}): Promise<RunningAgent> {
    try {
      const mode = await this.mode();
      const container = this.docker.getContainer(identity.containerName);
      let info: Docker.ContainerInspectInfo;
      try {
        info = await container.inspect();
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        return await this.createAndStart(identity, mode, progress);
      }
      this.assertOurs(info);
      // Frozen by an operator: neither replaced nor waited on (agents/pauses.ts).
      if (info.State.Paused) throw new AgentStartError(`Agent ${identity.containerName} is paused.`, 'agent_paused');
      if (isOutdated(factsOfInspect(info, this.settings.networkName), this.settings, await this.currentImageIdIfAny())) {
        await container.remove({ force: true });
        return await this.createAndStart(identity, mode, progress);
      }
      if (info.State.Running && !info.State.Restarting) return this.running(info, mode);
      // Its config file is a bind source: a start fails if it went missing.
      await this.prepare(identity);
      progress('starting');
      await this.start(container);
      return this.running(await container.inspect(), mode);
    } catch (err) {
      if (err instanceof AgentStartError) throw err;
      if (statusOf(err) === undefined) {
        throw new AgentStartError(`The Docker Engine is unreachable: ${messageOf(err)}`, 'engine_unreachable');
      }
      throw new AgentStartError(`The Docker Engine refused to start the agent: ${messageOf(err)}`, 'engine_error');
    }
  }

  async locate(instanceId: string): Promise<RunningAgent | undefined> {
    const mode = await this.mode();
    try {
      const info = await this.docker.getContainer(instanceId).inspect();
      return info.State.Running && isOurs(info.Config.Labels, this.settings.instance) ? this.running(info, mode) : undefined;
    } catch (err) {
      // Gone again before we looked: its destroy event follows.
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async find(identity: AgentIdentity): Promise<AgentSummary | undefined> {
    const mode = await this.mode();
    const info = await this.ownInspect(identity.containerName);
    if (!info) return undefined;
    const facts = factsOfInspect(info, this.settings.networkName);
    const url = info.State.Running ? addressOf(facts, mode, this.settings.port) : undefined;
    return {
      userId: facts.labels[LABELS.userId] ?? '',
      instanceId: info.Id,
      outdated: isOutdated(facts, this.settings, await this.currentImageId().catch(() => undefined)),
      running: info.State.Running,
      ...(url === undefined ? {} : { url }),
    };
  }

  async stop(instanceId: string, graceSeconds?: number): Promise<void> {
    if (!(await this.ownInspect(instanceId))) return;
    try {
      // No timeout given: the engine uses the container's StopTimeout (25 s), past the agent's 20 s drain.
      await this.docker.getContainer(instanceId).stop(graceSeconds === undefined ? {} : { t: graceSeconds });
    } catch (err) {
      // 304: already stopped; 404: removed meanwhile.
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
  }

  async remove(instanceId: string): Promise<void> {
    const info = await this.ownInspect(instanceId);
    if (!info || info.State.Running) return;
    try {
      // Never `v: true` or `force`: the data is a bind mount and a running agent stays.
      await this.docker.getContainer(instanceId).remove();
    } catch (err) {
      // 404: removed meanwhile; 409: started again (or being removed) meanwhile.
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    }
  }

  async list(): Promise<AgentSummary[]> {
    const mode = await this.mode();
    const containers = await this.docker.listContainers({ all: true, filters: { label: this.filters } });
    const imageId = await this.currentImageId().catch(() => undefined);
    return containers.map((c) => {
      const facts = factsOfListing(c, this.settings.networkName);
      const url = c.State === 'running' || c.State === 'paused' ? addressOf(facts, mode, this.settings.port) : undefined;
      return {
        userId: c.Labels[LABELS.userId] ?? '',
        instanceId: c.Id,
        outdated: isOutdated(facts, this.settings, imageId),
        running: c.State === 'running',
        ...(c.State === 'paused' ? { paused: true } : {}),
        ...(url === undefined ? {} : { url }),
      };
    });
  }

  async *events(signal: AbortSignal): AsyncIterable<AgentEvent> {
    const stream = await this.docker.getEvents({
      filters: { type: ['container'], label: this.filters, event: ['start', 'die', 'destroy', 'pause', 'unpause'] },
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
        yield await this.eventOf(event);
      }
    }
  }

  /** Docker counts its own restarts and resets the count on a start by the API, so a count above 0 is the engine's. */
  private async eventOf(event: { Action: string; Actor: { ID: string; Attributes: Record<string, string> } }): Promise<AgentEvent> {
    const base = { userId: event.Actor.Attributes[LABELS.userId] ?? '', instanceId: event.Actor.ID };
    if (event.Action === 'die') return { type: 'gone', ...base, exitCode: Number(event.Actor.Attributes.exitCode) };
    if (event.Action === 'destroy') return { type: 'gone', ...base, removed: true };
    if (event.Action === 'pause' || event.Action === 'unpause') return { type: `${event.Action}d`, ...base };
    const restarts = await this.docker.getContainer(event.Actor.ID).inspect().then((info) => info.RestartCount, () => 0);
    return { type: 'started', ...base, ...(restarts > 0 ? { restarts } : {}) };
  }

  async checkReady(): Promise<void> {
    await this.docker.ping();
    await this.docker.getImage(this.settings.image).inspect();
  }

  async watchExit(instanceId: string, signal: AbortSignal): Promise<AgentExit> {
    const container = this.docker.getContainer(instanceId);
    let startedAt: string | undefined;
    // First look after one interval: an agent healthy by then costs no engine call at all.
    await Bun.sleep(EXIT_POLL_MS);
    while (!signal.aborted) {
      let state: Docker.ContainerInspectInfo['State'];
      try {
        state = (await container.inspect()).State;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        return { exitCode: -1, lines: ['The container was removed while it started.'] };
      }
      startedAt ??= state.StartedAt;
      // A restart between two looks shows as a new start time: it exited in between.
      if (!state.Running || state.Restarting || state.StartedAt !== startedAt) {
        const lines = await this.lastOutput(container);
        await this.stopLooping(container);
        return { exitCode: state.ExitCode, lines };
      }
      await Bun.sleep(EXIT_POLL_MS);
    }
    throw signal.reason;
  }

  async revision(): Promise<string> {
    return agentRevision(await this.currentImageId().catch(() => undefined), this.settings.configPath);
  }

  private async lastOutput(container: Docker.Container): Promise<string[]> {
    try {
      const logs = (await container.logs({ stdout: true, stderr: true, tail: EXIT_LINES, follow: false })) as unknown as Uint8Array;
      return lastLines(demuxLogs(logs), EXIT_LINES);
    } catch {
      // A log driver without read support (e.g. syslog) has no output to give.
      return [];
    }
  }

  /** Ends Docker's restarts of an agent that cannot start, until its user's next request (after the back-off). */
  private async stopLooping(container: Docker.Container): Promise<void> {
    try {
      await container.stop({ t: 0 });
    } catch (err) {
      // 304: already stopped; 404: already gone.
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
  }

  private assertOurs(info: Docker.ContainerInspectInfo): void {
    if (isOurs(info.Config.Labels, this.settings.instance)) return;
    const owner = info.Config.Labels?.[LABELS.instance];
    throw new AgentStartError(
      `A container named ${info.Name.replace(/^\//, '')} exists and belongs to ${owner ? `gateway instance ${owner}` : 'no nanobot gateway'}; this gateway (instance ${this.settings.instance}) leaves it alone.`,
      'name_taken',
    );
  }

  engine(): Promise<EngineHealth> {
    return engineHealth(this.docker, this.settings.image);
  }

  async details(userId?: string): Promise<AgentDetails[]> {
    const label = userId === undefined ? this.filters : [...this.filters, `${LABELS.userId}=${userId}`];
    const containers = await this.docker.listContainers({ all: true, filters: { label } });
    const imageId = await this.currentImageId().catch(() => undefined);
    const inspected = await mapLimit(containers, ENGINE_CALLS_AT_ONCE, (c) => this.ownInspect(c.Id));
    return inspected.flatMap((info): AgentDetails[] => {
      if (!info) return [];
      const labels = info.Config.Labels ?? {};
      const stopped = !info.State.Running && timeOrUndefined(info.State.FinishedAt) !== undefined;
      return [{
        userId: labels[LABELS.userId] ?? '',
        email: labels[LABELS.email] ?? '',
        instanceId: info.Id,
        status: info.State.Status,
        running: info.State.Running,
        image: info.Config.Image,
        outdated: isOutdated(factsOfInspect(info, this.settings.networkName), this.settings, imageId),
        createdAt: info.Created,
        startedAt: timeOrUndefined(info.State.StartedAt),
        finishedAt: timeOrUndefined(info.State.FinishedAt),
        exitCode: stopped ? info.State.ExitCode : undefined,
        oomKilled: info.State.OOMKilled,
        restarts: info.RestartCount,
      }];
    });
  }

  usage(instanceId: string): Promise<AgentUsage | undefined> {
    return containerUsage(this.docker, instanceId);
  }

  async logTail(instanceId: string, lines: number): Promise<string[]> {
    if (!(await this.ownInspect(instanceId))) return [];
    const output = await this.docker.getContainer(instanceId).logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return lastLines(demuxLogs(output), lines, 2_000);
  }

  /** The container by id or name if it is one of this instance's agents: stop and remove touch nothing else. */
  private async ownInspect(idOrName: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      const info = await this.docker.getContainer(idOrName).inspect();
      const labels = info.Config.Labels ?? {};
      return labels[LABELS.managed] === 'true' && labels[LABELS.instance] === this.settings.instance ? info : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  private mode(): Promise<AddressMode> {
    this.addressMode ??= resolveAddressMode(this.docker, this.settings).catch((err: unknown) => {
      this.addressMode = undefined;
      throw err;
    });
    return this.addressMode;
  }

  private running(info: Docker.ContainerInspectInfo, mode: AddressMode): RunningAgent {
    const facts = factsOfInspect(info, this.settings.networkName);
    const url = addressOf(facts, mode, this.settings.port);
    if (!url) throw new AgentStartError(`Agent ${facts.name} has no address on network ${this.settings.networkName}.`, 'engine_error');
    return { userId: facts.labels[LABELS.userId] ?? '', instanceId: info.Id, url };
  }

  private missingImage(): AgentStartError {
    return new AgentStartError(`The agent image ${this.settings.image} is not available on the Docker Engine.`, 'image_missing');
  }

  /** The image id AGENT_IMAGE names now; a 404 means the image is missing. */
  private async currentImageId(): Promise<string> {
    return (await this.currentImage()).Id;
  }

  /**
   * The same, but undefined when AGENT_IMAGE names no image now (removed, or a tag not pulled yet): an
   * existing agent still runs on the image it was made from instead of being removed for nothing.
   */
  private async currentImageIdIfAny(): Promise<string | undefined> {
    try {
      return await this.currentImageId();
    } catch (err) {
      if (err instanceof AgentStartError && err.reason === 'image_missing') return undefined;
      throw err;
    }
  }

  private async currentImage(): Promise<Docker.ImageInspectInfo> {
    try {
      return await this.docker.getImage(this.settings.image).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      throw this.missingImage();
    }
  }

  private async ensureNetwork(): Promise<void> {
    try {
      await this.docker.getNetwork(this.settings.networkName).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await this.docker.createNetwork({ Name: this.settings.networkName, Driver: 'bridge', CheckDuplicate: true });
      } catch (createErr) {
        // Another gateway (or setup) created it in the meantime.
        if (statusOf(createErr) !== 409) throw createErr;
      }
    }
  }

  private async create(identity: AgentIdentity): Promise<Docker.Container> {
    if (!existsSync(this.settings.configPath)) {
      throw new AgentStartError(`The shared agent config ${this.settings.configPath} does not exist.`, 'config_missing');
    }
    await this.ensureNetwork();
    const owner = agentOwner((await this.currentImage()).Config.User, this.settings);
    // Created by the gateway first, so Docker never makes the bind source itself (root-owned, wrong mode).
    await mkdir(this.settings.dataDir, { recursive: true });
    await prepareDataFolder(join(this.settings.dataDir, identity.id), { templateDir: this.settings.templateDir, ...owner });
    await this.prepare(identity);
    try {
      return await this.docker.createContainer(containerSpec(identity, this.settings));
    } catch (err) {
      const status = statusOf(err);
      // Name taken: another gateway of this instance created it first; use that one, but only if it is ours.
      if (status === 409) {
        const container = this.docker.getContainer(identity.containerName);
        this.assertOurs(await container.inspect());
        return container;
      }
      if (status === 404) throw this.missingImage();
      throw err;
    }
  }

  private async prepare(identity: AgentIdentity): Promise<void> {
    try {
      await this.prepareConfig(identity);
    } catch (err) {
      throw new AgentStartError(`The agent's config.json could not be written: ${err instanceof Error ? err.message : String(err)}`, 'config_missing');
    }
  }

  private async start(container: Docker.Container): Promise<void> {
    try {
      await container.start();
    } catch (err) {
      // 304: already running, which is what we wanted.
      if (statusOf(err) !== 304) throw err;
    }
  }

  private async createAndStart(identity: AgentIdentity, mode: AddressMode, progress: EnsureProgress): Promise<RunningAgent> {
    progress('creating');
    const container = await this.create(identity);
    progress('starting');
    await this.start(container);
    return this.running(await container.inspect(), mode);
  }
}
