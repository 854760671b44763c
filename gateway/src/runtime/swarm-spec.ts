/**
 * What Docker Swarm is told when it makes a user's agent service, and the rules that read
 * services and tasks back: pure, so they are tested without a swarm (runtime/swarm.ts sends them).
 *
 * The same agent as the Docker runtime's container (runtime/agent-spec.ts), with what Swarm on
 * Engine 20.10 (API 1.41) cannot express: `no-new-privileges` (services have no security options
 * until API 1.46), and tmpfs mount flags (`nosuid,nodev` are the engine's defaults for a tmpfs
 * mount, not chosen here). docs/scaling.md lists both.
 */
import type Docker from 'dockerode';
import type { AgentIdentity } from '../identity.ts';
import type { AgentSettings } from '../settings.ts';
import { agentEnv, agentLabels, agentMounts, matchesSettings, LOG_OPTIONS, MAX_RESTARTS, STOP_TIMEOUT_SECONDS, TMP_SIZE_BYTES } from './agent-spec.ts';
import { LABELS } from './labels.ts';

const NS_PER_SECOND = 1e9;
/** Swarm waits this long between restarts of a crashing task. */
const RESTART_DELAY_NS = NS_PER_SECOND;

/** The service spec as the engine answers it. */
export type ServiceInfo = {
  ID: string;
  Version: { Index: number };
  UpdatedAt: string;
  CreatedAt: string;
  Spec: Docker.ServiceSpec & { TaskTemplate: Docker.ContainerTaskSpec; Labels: Record<string, string> };
};

/** A task as the engine answers it: one attempt at running the agent. */
export type TaskInfo = {
  ID: string;
  ServiceID: string;
  CreatedAt: string;
  DesiredState: string;
  Status: {
    Timestamp?: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  /** Set once Swarm has given the task its addresses, before it runs. */
  NetworksAttachments?: Array<{ Network: { Spec: { Name: string } }; Addresses?: string[] }>;
};

/** Task states after which the task never runs again. */
const FINISHED = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
/** Finished states that mean the agent could not start or stopped by itself. */
const EXITED = new Set(['complete', 'failed', 'rejected', 'orphaned']);

/**
 * Where the agent may run. `node` pins it to one node (the one holding its data folder, recorded on
 * the service when it is created and kept by every update); `any` lets Swarm choose, for data on
 * shared storage mounted at the same path on every node.
 */
export const placementConstraints = (placement: AgentSettings['placement'], nodeId: string): string[] =>
  placement === 'node' ? [`node.id==${nodeId}`] : [];

/** Everything Swarm is told when it creates a user's agent service, with one replica. */
export function serviceSpec(identity: AgentIdentity, settings: AgentSettings, imageId: string, constraints: string[]): ServiceInfo['Spec'] {
  // The image id lets a scan tell an agent made from an older image even when the tag is the same;
  // on the task's labels it also makes a new image a task change, so the update replaces the task.
  const labels = { ...agentLabels(identity, settings), [LABELS.imageId]: imageId };
  return {
    Name: identity.containerName,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: settings.image,
        // Args is a container's Cmd (the image's ENTRYPOINT stays); empty keeps the image's CMD.
        ...(settings.command.length > 0 ? { Args: settings.command } : {}),
        Env: agentEnv(identity, settings),
        Labels: labels,
        ReadOnly: settings.readOnly,
        Mounts: [
          ...agentMounts(identity, settings).map((m) => ({ Type: 'bind' as const, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
          // A tmpfs has no source; the API takes an empty one.
          { Type: 'tmpfs' as const, Source: '', Target: '/tmp', TmpfsOptions: { SizeBytes: TMP_SIZE_BYTES, Mode: 0o1777 } },
        ],
        StopGracePeriod: STOP_TIMEOUT_SECONDS * NS_PER_SECOND,
        CapabilityDrop: ['ALL'],
      },
      Resources: { Limits: { MemoryBytes: settings.memoryBytes, NanoCPUs: Math.round(settings.cpus * NS_PER_SECOND), Pids: settings.pids } },
      RestartPolicy: { Condition: 'on-failure', MaxAttempts: MAX_RESTARTS, Delay: RESTART_DELAY_NS },
      LogDriver: { Name: 'json-file', Options: LOG_OPTIONS },
      Placement: { Constraints: constraints },
      Networks: [{ Target: settings.networkName }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    // The old task stops before a new one starts: one student's folder is never used by two agents.
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
    // No virtual IP: the gateway reaches the task's own address (agentUrl), so it needs no IPVS on the
    // node (often missing in containers and VMs), and a long answer is not cut by IPVS's idle timeout.
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/**
 * The spec an existing service is updated to: the current one (token, image, limits), with its
 * recorded placement kept so the agent stays where its data is, and `replicas` of it.
 */
export function updatedSpec(current: ServiceInfo['Spec'], wanted: ServiceInfo['Spec'], replicas: number): ServiceInfo['Spec'] {
  return {
    ...wanted,
    TaskTemplate: { ...wanted.TaskTemplate, Placement: current.TaskTemplate.Placement ?? {} },
    Mode: { Replicated: { Replicas: replicas } },
  };
}

/** The spec of `current` scaled to `replicas`, nothing else changed (no task is replaced). */
export const scaledSpec = (current: ServiceInfo['Spec'], replicas: number): ServiceInfo['Spec'] => ({ ...current, Mode: { Replicated: { Replicas: replicas } } });

export const replicasOf = (service: ServiceInfo): number => service.Spec.Mode?.Replicated?.Replicas ?? 0;

/** Made under another token secret, with the admin's config, or from another image than AGENT_IMAGE is now (undefined: unknown, outdates nothing). */
export function isServiceOutdated(service: ServiceInfo, settings: AgentSettings, currentImageId: string | undefined): boolean {
  const labels = service.Spec.Labels ?? {};
  return (
    !matchesSettings(service.Spec.Name ?? '', labels, settings) ||
    (currentImageId !== undefined && labels[LABELS.imageId] !== currentImageId)
  );
}

/**
 * Where the service's current task listens: its own address on the overlay network, which the
 * gateway must be attached to. An address rather than the service's name, because a name that
 * resolves to the task is cached by the gateway's resolver past the task's replacement.
 */
export function agentUrl(tasks: TaskInfo[], networkName: string, port: number): string | undefined {
  const current = tasks
    .filter((t) => t.DesiredState === 'running' && !isFinished(t))
    .sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt))[0];
  const address = current?.NetworksAttachments?.find((a) => a.Network.Spec.Name === networkName)?.Addresses?.[0];
  return address ? `http://${address.replace(/\/\d+$/, '')}:${port}` : undefined;
}

export const isFinished = (task: TaskInfo): boolean => FINISHED.has(task.Status.State);

/**
 * The first task of this round (created at or after the service's last update) that failed to
 * start or exited: a rejected task (no such image, a missing bind source) or a container that
 * exited. None while a task of this round runs: an agent that crashed once and runs again is up.
 */
export function failedTask(tasks: TaskInfo[], since: string): TaskInfo | undefined {
  // Compared as times: Go trims trailing zeros of the nanoseconds, so the strings do not sort.
  const from = Date.parse(since);
  const round = tasks.filter((t) => Date.parse(t.CreatedAt) >= from);
  if (round.some((t) => t.Status.State === 'running')) return undefined;
  return round.filter((t) => EXITED.has(t.Status.State)).sort((a, b) => Date.parse(a.CreatedAt) - Date.parse(b.CreatedAt))[0];
}

/** What Swarm says about a failed task, in the words an operator reads: its error first, then its message. */
export function taskReason(task: TaskInfo): string[] {
  const words = [task.Status.Err, task.Status.Message].filter((w): w is string => Boolean(w));
  return [...new Set(words)].map((w) => `swarm: ${w}`);
}
