/** The swarm runtime's pure rules, without a swarm: the service it asks for, how it reads tasks back, when a service is outdated. */
import { describe, expect, test } from 'bun:test';
import { identityFor } from '../src/identity.ts';
import { containerSpec } from '../src/runtime/docker.ts';
import { LABELS } from '../src/runtime/labels.ts';
import {
  agentUrl,
  failedTask,
  isServiceOutdated,
  placementConstraints,
  scaledSpec,
  serviceSpec,
  taskReason,
  updatedSpec,
  type ServiceInfo,
  type TaskInfo,
} from '../src/runtime/swarm-spec.ts';
import { testSettings } from './helpers.ts';

const agents = testSettings({
  RUNTIME: 'swarm',
  GATEWAY_INSTANCE: 'unit',
  AGENT_IMAGE: 'tutor:1',
  HOST_DATA_DIR: '/srv/nanobot/data',
  NETWORK_NAME: 'unit-net',
  AGENT_MEMORY: '512m',
  AGENT_CPUS: '0.5',
  AGENT_PIDS: '64',
}).agents;
const ada = identityFor('ada@example.edu', 'unit');
const spec = serviceSpec(ada, agents, 'sha256:current', ['node.id==n1']);
const service = (overrides: Partial<ServiceInfo['Spec']> = {}): ServiceInfo => ({
  ID: 's1',
  Version: { Index: 7 },
  CreatedAt: '2026-01-01T00:00:00Z',
  UpdatedAt: '2026-01-01T00:00:10Z',
  Spec: { ...spec, ...overrides },
});
const task = (id: string, createdAt: string, state: string, extra: Partial<TaskInfo> = {}): TaskInfo => ({
  ID: id,
  ServiceID: 's1',
  CreatedAt: createdAt,
  DesiredState: 'running',
  Status: { State: state },
  ...extra,
});

describe('serviceSpec', () => {
  const container = containerSpec(ada, agents);

  test('is the Docker runtime\'s agent: the same name, labels, token, command and mounts', () => {
    expect(spec.Name).toBe(container.name);
    expect(spec.Labels).toEqual({ ...container.Labels, [LABELS.imageId]: 'sha256:current' });
    expect(spec.TaskTemplate.ContainerSpec?.Labels).toEqual(spec.Labels);
    expect(spec.TaskTemplate.ContainerSpec?.Env).toEqual(container.Env);
    expect(spec.TaskTemplate.ContainerSpec?.Args).toEqual(container.Cmd);
    const binds = spec.TaskTemplate.ContainerSpec?.Mounts?.filter((m) => m.Type === 'bind').map((m) => `${m.Source}:${m.Target}${m.ReadOnly ? ':ro' : ''}`);
    expect(binds).toEqual(container.HostConfig?.Binds);
  });

  test('has one replica, the limits and the hardening Swarm can express', () => {
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(spec.TaskTemplate.Resources?.Limits).toEqual({ MemoryBytes: 512 * 1024 ** 2, NanoCPUs: 5e8, Pids: 64 });
    expect(spec.TaskTemplate.ContainerSpec).toMatchObject({ ReadOnly: true, CapabilityDrop: ['ALL'], StopGracePeriod: 25e9 });
    expect(spec.TaskTemplate.ContainerSpec?.Mounts).toContainEqual(expect.objectContaining({ Type: 'tmpfs', Target: '/tmp' }));
    expect(spec.TaskTemplate.RestartPolicy).toMatchObject({ Condition: 'on-failure', MaxAttempts: 5 });
    expect(spec.TaskTemplate.LogDriver).toEqual({ Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } });
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'unit-net' }]);
    expect(spec.UpdateConfig?.Order).toBe('stop-first');
  });

  test('keeps the image\'s command when AGENT_COMMAND is empty', () => {
    expect(serviceSpec(ada, testSettings({ AGENT_COMMAND: '' }).agents, 'sha256:x', []).TaskTemplate.ContainerSpec).not.toHaveProperty('Args');
  });
});

describe('placement', () => {
  test('pins an agent to the gateway\'s node by default, and lets Swarm choose for shared storage', () => {
    expect(placementConstraints('node', 'n1')).toEqual(['node.id==n1']);
    expect(placementConstraints('any', 'n1')).toEqual([]);
    expect(testSettings().agents.placement).toBe('node');
  });

  test('an update keeps the placement recorded on the service, and scaling changes nothing but the replicas', () => {
    const moved = serviceSpec(ada, agents, 'sha256:newer', ['node.id==n2']);
    const updated = updatedSpec(spec, moved, 1);
    expect(updated.TaskTemplate.Placement).toEqual({ Constraints: ['node.id==n1'] });
    expect(updated.Labels[LABELS.imageId]).toBe('sha256:newer');
    expect(scaledSpec(spec, 0)).toEqual({ ...spec, Mode: { Replicated: { Replicas: 0 } } });
  });
});

describe('isServiceOutdated', () => {
  test('a service of the current image and token secret is current; an unknown image outdates nothing', () => {
    expect(isServiceOutdated(service(), agents, 'sha256:current')).toBe(false);
    expect(isServiceOutdated(service(), agents, undefined)).toBe(false);
  });

  test('a new image or a rotated token secret outdates it', () => {
    expect(isServiceOutdated(service(), agents, 'sha256:newer')).toBe(true);
    expect(isServiceOutdated(service(), { ...agents, tokenSecret: 'rotated' }, 'sha256:current')).toBe(true);
  });

  test('changed limits outdate it, so the service is updated to them', () => {
    expect(isServiceOutdated(service(), { ...agents, memoryBytes: 2 * agents.memoryBytes }, 'sha256:current')).toBe(true);
  });
});

describe('tasks', () => {
  const attached = (address: string) => ({ NetworksAttachments: [{ Network: { Spec: { Name: 'unit-net' } }, Addresses: [address] }] });

  test('the agent is reached at the newest running task\'s own address on the agents\' network', () => {
    const tasks = [
      task('old', '2026-01-01T00:00:01Z', 'shutdown', { DesiredState: 'shutdown', ...attached('10.0.1.4/24') }),
      task('new', '2026-01-01T00:00:11Z', 'running', attached('10.0.1.9/24')),
    ];
    expect(agentUrl(tasks, 'unit-net', 8000)).toBe('http://10.0.1.9:8000');
    expect(agentUrl(tasks, 'other-net', 8000)).toBeUndefined();
    expect(agentUrl([task('new', '2026-01-01T00:00:11Z', 'pending')], 'unit-net', 8000)).toBeUndefined();
  });

  test('a task that failed since the last update is found, older failures are not', () => {
    const failed = task('f', '2026-01-01T00:00:10.5Z', 'failed', { Status: { State: 'failed', Err: 'task: non-zero exit (2)' } });
    const older = task('o', '2026-01-01T00:00:09.999999999Z', 'rejected');
    expect(failedTask([older, failed], '2026-01-01T00:00:10.12345678Z')).toBe(failed);
    expect(failedTask([older], '2026-01-01T00:00:10Z')).toBeUndefined();
    expect(taskReason(failed)).toEqual(['swarm: task: non-zero exit (2)']);
    // Restarted by Swarm after the failure, and running: up, not failed.
    expect(failedTask([failed, task('again', '2026-01-01T00:00:12Z', 'running')], '2026-01-01T00:00:10Z')).toBeUndefined();
    expect(failedTask([failed, task('again', '2026-01-01T00:00:12Z', 'ready')], '2026-01-01T00:00:10Z')).toBe(failed);
  });
});
