/**
 * The Docker Swarm implementation of AgentRuntime (RUNTIME=swarm): one service per user with one
 * replica on an attachable overlay network. Stopping scales it to 0 and starting to 1, so its id,
 * its address and its placement outlive every stop; a new image or token secret updates it in place.
 * The gateway must be a container attached to NETWORK_NAME: agents are reached by service name.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { AgentIdentity } from '../identity.ts';
import type { AgentSettings } from '../settings.ts';
import { agentRevision, isOurs, messageOf, statusOf } from './agent-spec.ts';
import { demuxLogs, lastLines } from './container-output.ts';
import { agentOwner, prepareDataFolder } from './data-folder.ts';
import { containerUsage, engineHealth, mapLimit } from './docker.ts';
import { instanceLabelFilters, LABELS } from './labels.ts';
import {
  failedTask,
  isFinished,
  isServiceOutdated,
  placementConstraints,
  replicasOf,
  scaledSpec,
  serviceSpec,
  agentUrl,
  taskReason,
  updatedSpec,
  type ServiceInfo,
  type TaskInfo,
} from './swarm-spec.ts';
import {
  AgentStartError,
  type AgentDetails,
  type EngineHealth,
  type AgentEvent,
  type AgentExit,
  type AgentInspector,
  type AgentRuntime,
  type AgentSummary,
  type AgentUsage,
  type EnsureProgress,
  type RunningAgent,
} from './types.ts';

/** How often tasks are looked at while an agent starts or stops. */
const POLL_MS = 250;
/** A stop waits for the old task past the agent's 25 s drain, then gives up waiting (Swarm still kills it). */
const STOP_WAIT_MS = 35_000;
const EXIT_LINES = 20;
/** Service logs gather from every node: a node that does not answer must not hold a start. */
const LOGS_TIMEOUT_MS = 3_000;
/** An update raced by another (a second gateway, an operator) is tried again with the new version. */
const UPDATE_ATTEMPTS = 3;
const ENGINE_CALLS_AT_ONCE = 8;
/** Swarm gives a new task its address within a second or two; a swarm that cannot place it fails the start. */
const ADDRESS_WAIT_MS = 30_000;

/** The events of several streams as they come, ending when all have ended; an error in one ends all. */
async function* merge<T>(streams: AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map(iterators.map((it, i) => [i, it.next().then((r) => ({ i, r }))]));
  while (pending.size > 0) {
    const { i, r } = await Promise.race(pending.values());
    if (r.done) {
      pending.delete(i);
      continue;
    }
    pending.set(i, iterators[i]!.next().then((next) => ({ i, r: next })));
    yield r.value;
  }
}

type EngineEvent = { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } };

async function* lines(stream: AsyncIterable<Buffer>): AsyncIterable<EngineEvent> {
  let buffered = '';
  for await (const chunk of stream) {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) yield JSON.parse(line) as EngineEvent;
  }
}

export class SwarmRuntime implements AgentRuntime, AgentInspector {
  private readonly filters: string[];
  /** Service id → user id, for the remove event, which carries only the name. */
  private readonly users = new Map<string, string>();

  /** `prepareConfig` writes the user's keyless config.json before their service is created or scaled up. */
  constructor(
    private readonly docker: Docker,
    private readonly settings: AgentSettings,
    private readonly prepareConfig: (identity: AgentIdentity) => Promise<void> = async () => {},
  ) {
    this.filters = instanceLabelFilters(settings.instance);
  }

  async ensure(identity: AgentIdentity, progress: EnsureProgress = () => {}): Promise<RunningAgent> {
    try {
      const service = await this.inspect(identity.containerName);
      if (!service) return await this.running(await this.create(identity, progress));
      this.assertOurs(service);
      const imageId = (await this.currentImage()).Id;
      if (isServiceOutdated(service, this.settings, imageId)) {
        const wanted = serviceSpec(identity, this.settings, imageId, []);
        // Its config file is a bind source: the new task fails if it went missing.
        await this.prepare(identity);
        progress('starting');
        const updated = await this.update(service.ID, (current) => updatedSpec(current.Spec, wanted, 1));
        // Stop-first: the old task drains before the new one starts; until then the address still reaches the old one.
        await this.untilOldTasksStopped(service.ID);
        return await this.running(updated);
      }
      if (replicasOf(service) > 0) return await this.running(service);
      await this.prepare(identity);
      progress('starting');
      return await this.running(await this.update(service.ID, (current) => scaledSpec(current.Spec, 1)));
    } catch (err) {
      if (err instanceof AgentStartError) throw err;
      if (statusOf(err) === undefined) throw new AgentStartError(`The Docker Engine is unreachable: ${messageOf(err)}`, 'engine_unreachable');
      throw new AgentStartError(`Docker Swarm refused to start the agent: ${messageOf(err)}`, 'engine_error');
    }
  }

  async find(identity: AgentIdentity): Promise<AgentSummary | undefined> {
    const service = await this.inspect(identity.containerName);
    if (!service || !isOurs(service.Spec.Labels, this.settings.instance)) return undefined;
    return this.summary(service, await this.currentImageId(), await this.tasks(service.ID));
  }

  async stop(instanceId: string): Promise<void> {
    const service = await this.own(instanceId);
    if (!service) return;
    if (replicasOf(service) > 0) await this.update(service.ID, (current) => scaledSpec(current.Spec, 0));
    // Stopped means stopped: a start right after must not run a second agent on the same folder.
    await this.untilOldTasksStopped(service.ID);
  }

  async remove(instanceId: string): Promise<void> {
    const service = await this.own(instanceId);
    if (!service || replicasOf(service) > 0) return;
    try {
      // The data is a bind mount: removing the service never touches it.
      await this.docker.getService(service.ID).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async locate(instanceId: string): Promise<RunningAgent | undefined> {
    const service = await this.own(instanceId);
    if (!service || replicasOf(service) === 0) return undefined;
    const url = agentUrl(await this.tasks(service.ID), this.settings.networkName, this.settings.port);
    return url === undefined ? undefined : { userId: this.userOf(service), instanceId: service.ID, url };
  }

  async list(): Promise<AgentSummary[]> {
    const services = (await this.docker.listServices({ filters: { label: this.filters } })) as unknown as ServiceInfo[];
    const imageId = await this.currentImageId();
    // One call for every running task, not one per service: adoption scans hundreds of agents.
    const tasks = (await this.docker.listTasks({ filters: { 'desired-state': ['running'] } })) as TaskInfo[];
    return services.map((s) => this.summary(s, imageId, tasks.filter((t) => t.ServiceID === s.ID)));
  }

  /**
   * Service events come from the whole swarm (scaled, updated, removed); container events only from
   * this node, but they are the ones that tell a crash (`die`) and the restart after it (`start`).
   */
  async *events(signal: AbortSignal): AsyncIterable<AgentEvent> {
    const services = await this.docker.getEvents({ filters: { type: ['service'] }, abortSignal: signal });
    const containers = await this.docker.getEvents({ filters: { type: ['container'], label: this.filters, event: ['start', 'die', 'pause', 'unpause'] }, abortSignal: signal });
    for await (const event of merge([lines(services as AsyncIterable<Buffer>), lines(containers as AsyncIterable<Buffer>)])) {
      const translated = event.Type === 'service' ? await this.serviceEvent(event) : this.containerEvent(event);
      if (translated) yield translated;
    }
  }

  async checkReady(): Promise<void> {
    const info = (await this.docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new Error('The Docker Engine is not a manager of an active swarm (RUNTIME=swarm needs one).');
    }
    await this.docker.getImage(this.settings.image).inspect();
  }

  async watchExit(instanceId: string, signal: AbortSignal): Promise<AgentExit> {
    await Bun.sleep(POLL_MS);
    while (!signal.aborted) {
      const service = await this.own(instanceId);
      if (!service) return { exitCode: -1, lines: ['The service was removed while it started.'] };
      const failed = failedTask(await this.tasks(service.ID), service.UpdatedAt);
      if (failed) {
        const output = await this.lastOutput(service.ID);
        // Swarm would keep replacing the task: scaled to 0 until its user's next request (after the back-off).
        await this.update(service.ID, (current) => scaledSpec(current.Spec, 0)).catch(() => {});
        return { exitCode: failed.Status.ContainerStatus?.ExitCode ?? -1, lines: [...taskReason(failed), ...output] };
      }
      await Bun.sleep(POLL_MS);
    }
    throw signal.reason;
  }

  async revision(): Promise<string> {
    return agentRevision(await this.currentImageId(), this.settings.configPath);
  }

  engine(): Promise<EngineHealth> {
    return engineHealth(this.docker, this.settings.image);
  }

  async details(userId?: string): Promise<AgentDetails[]> {
    const label = userId === undefined ? this.filters : [...this.filters, `${LABELS.userId}=${userId}`];
    const services = (await this.docker.listServices({ filters: { label } })) as unknown as ServiceInfo[];
    const imageId = await this.currentImageId();
    return mapLimit(services, ENGINE_CALLS_AT_ONCE, async (service) => {
      const tasks = (await this.tasks(service.ID)).sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
      const latest = tasks[0];
      const running = latest?.Status.State === 'running' && replicasOf(service) > 0;
      const exited = latest && isFinished(latest) ? latest : undefined;
      return {
        userId: service.Spec.Labels[LABELS.userId] ?? '',
        email: service.Spec.Labels[LABELS.email] ?? '',
        instanceId: service.ID,
        status: replicasOf(service) === 0 ? 'scaled to 0' : (latest?.Status.State ?? 'pending'),
        running,
        image: service.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
        outdated: isServiceOutdated(service, this.settings, imageId),
        createdAt: service.CreatedAt,
        startedAt: running ? latest.Status.Timestamp : undefined,
        finishedAt: exited?.Status.Timestamp,
        exitCode: exited?.Status.ContainerStatus?.ExitCode,
        oomKilled: false,
        // Tasks Swarm replaced after a failure since the service was last scaled or updated.
        restarts: failedSince(tasks, service.UpdatedAt),
      };
    });
  }

  /** Only for an agent whose task runs on this node: stats come from the engine that runs the container. */
  async usage(instanceId: string): Promise<AgentUsage | undefined> {
    const task = (await this.tasks(instanceId)).find((t) => t.Status.State === 'running');
    const containerId = task?.Status.ContainerStatus?.ContainerID;
    return containerId ? containerUsage(this.docker, containerId) : undefined;
  }

  async logTail(instanceId: string, count: number): Promise<string[]> {
    if (!(await this.own(instanceId))) return [];
    return this.lastOutput(instanceId, count);
  }

  private async serviceEvent(event: EngineEvent): Promise<AgentEvent | undefined> {
    const instanceId = event.Actor.ID;
    if (event.Action === 'remove') {
      const userId = this.users.get(instanceId);
      this.users.delete(instanceId);
      return userId === undefined ? undefined : { type: 'gone', userId, instanceId };
    }
    const service = await this.own(instanceId);
    if (!service) return undefined;
    const userId = service.Spec.Labels[LABELS.userId] ?? '';
    return { type: replicasOf(service) > 0 ? 'started' : 'gone', userId, instanceId };
  }

  private containerEvent(event: EngineEvent): AgentEvent | undefined {
    const instanceId = event.Actor.Attributes['com.docker.swarm.service.id'];
    if (!instanceId) return undefined;
    // A task's container frozen on this node (`docker pause`), as with the Docker runtime.
    if (event.Action === 'pause' || event.Action === 'unpause') return { type: `${event.Action}d`, userId: event.Actor.Attributes[LABELS.userId] ?? '', instanceId };
    return { type: event.Action === 'start' ? 'started' : 'gone', userId: event.Actor.Attributes[LABELS.userId] ?? '', instanceId };
  }

  private summary(service: ServiceInfo, imageId: string | undefined, tasks: TaskInfo[]): AgentSummary {
    const url = replicasOf(service) > 0 ? agentUrl(tasks, this.settings.networkName, this.settings.port) : undefined;
    return {
      userId: this.userOf(service),
      instanceId: service.ID,
      outdated: isServiceOutdated(service, this.settings, imageId),
      running: replicasOf(service) > 0,
      ...(url === undefined ? {} : { url }),
    };
  }

  private userOf(service: ServiceInfo): string {
    const userId = service.Spec.Labels[LABELS.userId] ?? '';
    this.users.set(service.ID, userId);
    return userId;
  }

  /**
   * The agent once its task has an address. A task that failed before it had one still gives the
   * agent to the caller, at its service name: the lifecycle's watchExit then reports why at once.
   */
  private async running(service: ServiceInfo): Promise<RunningAgent> {
    const agent = (url: string): RunningAgent => ({ userId: this.userOf(service), instanceId: service.ID, url });
    const deadline = Date.now() + ADDRESS_WAIT_MS;
    for (;;) {
      const tasks = await this.tasks(service.ID);
      const url = agentUrl(tasks, this.settings.networkName, this.settings.port);
      if (url) return agent(url);
      if (failedTask(tasks, service.UpdatedAt)) return agent(`http://${service.Spec.Name}:${this.settings.port}`);
      if (Date.now() > deadline) throw new AgentStartError(`Swarm gave agent ${service.Spec.Name} no address on network ${this.settings.networkName}.`, 'engine_error');
      await Bun.sleep(POLL_MS);
    }
  }

  private async create(identity: AgentIdentity, progress: EnsureProgress): Promise<ServiceInfo> {
    progress('creating');
    if (!existsSync(this.settings.configPath)) {
      throw new AgentStartError(`The shared agent config ${this.settings.configPath} does not exist.`, 'config_missing');
    }
    await this.ensureNetwork();
    const image = await this.currentImage();
    const owner = agentOwner(image.Config.User, this.settings);
    await mkdir(this.settings.dataDir, { recursive: true });
    await prepareDataFolder(join(this.settings.dataDir, identity.id), { templateDir: this.settings.templateDir, ...owner });
    await this.prepare(identity);
    const constraints = placementConstraints(this.settings.placement, await this.nodeId());
    progress('starting');
    try {
      const created = await this.docker.createService(serviceSpec(identity, this.settings, image.Id, constraints));
      return (await created.inspect()) as ServiceInfo;
    } catch (err) {
      // Name taken: another gateway of this instance created it first; use that one, but only if it is ours.
      if (statusOf(err) !== 409) throw err;
      const existing = await this.inspect(identity.containerName);
      if (!existing) throw err;
      this.assertOurs(existing);
      return replicasOf(existing) > 0 ? existing : this.update(existing.ID, (current) => scaledSpec(current.Spec, 1));
    }
  }

  /** Updates with the version index just read; a race with another update reads again and retries. */
  private async update(serviceId: string, change: (current: ServiceInfo) => ServiceInfo['Spec']): Promise<ServiceInfo> {
    for (let attempt = 1; ; attempt += 1) {
      const service = this.docker.getService(serviceId);
      const current = (await service.inspect()) as ServiceInfo;
      try {
        await service.update({ _query: { version: current.Version.Index }, _body: change(current) });
        return (await service.inspect()) as ServiceInfo;
      } catch (err) {
        if (attempt >= UPDATE_ATTEMPTS || !/out of sequence/i.test(messageOf(err))) throw err;
      }
    }
  }

  /** Waits until no task that Swarm is stopping still runs (bounded: Swarm kills it after the grace period anyway). */
  private async untilOldTasksStopped(serviceId: string): Promise<void> {
    const deadline = Date.now() + STOP_WAIT_MS;
    while (Date.now() < deadline) {
      const stopping = (await this.tasks(serviceId)).filter((t) => t.DesiredState !== 'running' && !isFinished(t));
      if (stopping.length === 0) return;
      await Bun.sleep(POLL_MS);
    }
  }

  private async tasks(serviceId: string): Promise<TaskInfo[]> {
    return (await this.docker.listTasks({ filters: { service: [serviceId] } })) as TaskInfo[];
  }

  private async lastOutput(serviceId: string, count = EXIT_LINES): Promise<string[]> {
    try {
      const logs = (await this.docker.getService(serviceId).logs({
        stdout: true,
        stderr: true,
        tail: count,
        follow: false,
        abortSignal: AbortSignal.timeout(LOGS_TIMEOUT_MS),
      } as Docker.ContainerLogsOptions)) as unknown as Uint8Array;
      return lastLines(demuxLogs(logs), count, 2_000);
    } catch {
      // A log driver without read support, or a node that does not answer: no output to give.
      return [];
    }
  }

  /** The service by id or name, whoever made it; undefined when there is none. */
  private async inspect(idOrName: string): Promise<ServiceInfo | undefined> {
    try {
      return (await this.docker.getService(idOrName).inspect()) as ServiceInfo;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** The service if it is one of this instance's agents: stop, remove and events touch nothing else. */
  private async own(idOrName: string): Promise<ServiceInfo | undefined> {
    const service = await this.inspect(idOrName);
    return service && isOurs(service.Spec.Labels, this.settings.instance) ? service : undefined;
  }

  private assertOurs(service: ServiceInfo): void {
    if (isOurs(service.Spec.Labels, this.settings.instance)) return;
    const owner = service.Spec.Labels?.[LABELS.instance];
    throw new AgentStartError(
      `A service named ${service.Spec.Name} exists and belongs to ${owner ? `gateway instance ${owner}` : 'no nanobot gateway'}; this gateway (instance ${this.settings.instance}) leaves it alone.`,
      'name_taken',
    );
  }

  private async prepare(identity: AgentIdentity): Promise<void> {
    try {
      await this.prepareConfig(identity);
    } catch (err) {
      throw new AgentStartError(`The agent's config.json could not be written: ${err instanceof Error ? err.message : String(err)}`, 'config_missing');
    }
  }

  /** The node this gateway's engine is: new agents are pinned to it (AGENT_PLACEMENT=node), where their folders are made. */
  private async nodeId(): Promise<string> {
    const info = (await this.docker.info()) as { Swarm?: { NodeID?: string } };
    if (!info.Swarm?.NodeID) throw new AgentStartError('The Docker Engine is not part of a swarm (RUNTIME=swarm needs one).', 'engine_error');
    return info.Swarm.NodeID;
  }

  private async currentImage(): Promise<Docker.ImageInspectInfo> {
    try {
      return await this.docker.getImage(this.settings.image).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      throw new AgentStartError(`The agent image ${this.settings.image} is not available on the Docker Engine.`, 'image_missing');
    }
  }

  /** Undefined when it cannot be read: then nothing is called outdated. */
  private currentImageId(): Promise<string | undefined> {
    return this.currentImage().then((i) => i.Id, () => undefined);
  }

  private async ensureNetwork(): Promise<void> {
    try {
      const network = await this.docker.getNetwork(this.settings.networkName).inspect();
      if (network.Driver !== 'overlay' || !network.Attachable) {
        throw new AgentStartError(`Network ${this.settings.networkName} is not an attachable overlay network; Swarm agents and the gateway need one.`, 'engine_error');
      }
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await this.docker.createNetwork({ Name: this.settings.networkName, Driver: 'overlay', Attachable: true, CheckDuplicate: true });
      } catch (createErr) {
        if (statusOf(createErr) !== 409) throw createErr;
      }
    }
  }
}

/** Failed tasks since `since`: the restarts Swarm made after a crash. */
function failedSince(tasks: TaskInfo[], since: string): number {
  const from = Date.parse(since);
  return tasks.filter((t) => Date.parse(t.CreatedAt) >= from && t.Status.State === 'failed').length;
}
