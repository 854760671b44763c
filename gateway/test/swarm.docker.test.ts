/**
 * The swarm runtime (RUNTIME=swarm) on a real single-node swarm: spawn, proxy, stream, culling by
 * scaling to 0 and starting again, adoption after a gateway restart, a task that fails at start,
 * and 20 users at once. An overlay network is not reachable from the host, so the gateway runs as
 * a container on it (the Bun base image with this repository mounted), as it would in a stack.
 * The test makes the engine a swarm only if it is not one, and leaves that swarm afterwards even
 * when a test fails; it removes every service, container and network it made.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { prepareBuild } from '../../scripts/lib/images.ts';
import { eventually } from '../../test/support/eventually.ts';
import { joinSwarm, type JoinedSwarm } from '../../test/support/swarm.ts';
import { identityFor } from '../src/identity.ts';
import { instanceLabelFilters, LABELS } from '../src/runtime/labels.ts';
import type { ServiceInfo } from '../src/runtime/swarm-spec.ts';
import { AGENT_IMAGE, buildTestAgent, REPO_ROOT } from './docker-harness.ts';
import { authHeaders, TOKEN } from './helpers.ts';

const docker = new Docker();
const run = crypto.randomUUID().slice(0, 8);
const instance = `nbtest-sw-${run}`;
const network = `nbtest-sw-net-${run}`;
const email = (name: string) => `${name}.${run}@example.com`;
const gatewayNames = new Set<string>();
let dataDir = '';
let bunImage = '';
let swarm: JoinedSwarm | undefined;

type Gateway = { name: string; url: string };

beforeAll(async () => {
  swarm = await joinSwarm(docker);
  bunImage = (await prepareBuild(() => {})).bunImage;
  await buildTestAgent();
  dataDir = await mkdtemp(join(tmpdir(), 'nbtest-sw-data-'));
  await writeFile(join(dataDir, 'config.json'), JSON.stringify({ agents: { defaults: { model: 'test' } } }));
  await docker.createNetwork({ Name: network, Driver: 'overlay', Attachable: true, Labels: { [LABELS.instance]: instance } });
}, 300_000);

afterAll(async () => {
  try {
    for (const name of gatewayNames) await docker.getContainer(name).remove({ force: true }).catch(() => {});
    for (const filter of [instance, `${instance}-fail`]) {
      for (const s of await docker.listServices({ filters: { label: instanceLabelFilters(filter) } })) await docker.getService(s.ID).remove().catch(() => {});
    }
    // The network goes once the services' tasks have left it.
    await eventually(async () => {
      await docker.getNetwork(network).remove().catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
    }, 60_000, 500).catch(() => {});
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  } finally {
    await swarm?.leave();
  }
}, 180_000);

/** A gateway process in a container on the overlay network, published on a free port of 127.0.0.1. */
async function startGateway(suffix: string, env: Record<string, string> = {}): Promise<Gateway> {
  const name = `nbtest-sw-gw-${run}-${suffix}`;
  gatewayNames.add(name);
  const vars = {
    RUNTIME: 'swarm',
    GATEWAY_INSTANCE: instance,
    GATEWAY_TOKEN: TOKEN,
    AGENT_TOKEN_SECRET: 'test-agent-secret',
    GATEWAY_TRUST_EMAIL_HEADER: '1',
    AGENT_IMAGE,
    NETWORK_NAME: network,
    DATA_DIR: dataDir,
    CONFIG_PATH: join(dataDir, 'config.json'),
    AGENT_MEMORY: '128m',
    AGENT_CPUS: '0.5',
    AGENT_PIDS: '64',
    START_TIMEOUT_MS: '60000',
    MAX_CONCURRENT_SPAWNS: '20',
    LISTEN_HOST: '0.0.0.0',
    ...env,
  };
  const container = await docker.createContainer({
    name,
    Image: bunImage,
    Cmd: ['sh', 'gateway/start.sh'],
    WorkingDir: REPO_ROOT,
    Env: Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    Labels: { [LABELS.instance]: instance },
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: {
      NetworkMode: network,
      Binds: ['/var/run/docker.sock:/var/run/docker.sock', `${REPO_ROOT}:${REPO_ROOT}:ro`, `${dataDir}:${dataDir}`],
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
  });
  await container.start();
  const port = (await container.inspect()).NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort;
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => expect((await fetch(`${url}/healthz`)).status).toBe(200), 30_000, 200);
  return { name, url };
}

async function stopGateway(gateway: Gateway): Promise<void> {
  await docker.getContainer(gateway.name).remove({ force: true });
}

const call = (gw: Gateway, path: string, user: string, init: RequestInit = {}, extra: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { ...init, headers: authHeaders(user, extra) });

const serviceOf = async (user: string, of = instance) =>
  (await docker.getService(identityFor(user, of).containerName).inspect()) as ServiceInfo;

const runningTasks = async (service: ServiceInfo) =>
  (await docker.listTasks({ filters: { service: [service.ID], 'desired-state': ['running'] } })) as Array<{ ID: string; Status: { State: string } }>;

describe('agents as Swarm services', () => {
  let gateway: Gateway;
  const ada = email('ada');

  beforeAll(async () => {
    gateway = await startGateway('main');
  }, 60_000);

  test('a first request creates one service with one replica, labelled, limited and hardened, and is proxied to it', async () => {
    const res = await call(gateway, '/memory', ada, {}, { 'x-test-write': 'ada was here' });
    expect(res.status).toBe(200);
    const service = await serviceOf(ada);
    expect(service.Spec.Labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.instance]: instance, [LABELS.userId]: identityFor(ada).id });
    expect(service.Spec.Mode?.Replicated?.Replicas).toBe(1);
    const task = service.Spec.TaskTemplate;
    expect(task.Resources?.Limits).toEqual({ MemoryBytes: 128 * 1024 ** 2, NanoCPUs: 5e8, Pids: 64 });
    expect(task.ContainerSpec).toMatchObject({ ReadOnly: true, CapabilityDrop: ['ALL'], Args: ['gateway'] });
    // Pinned to the one node, which holds the data folder.
    expect(task.Placement?.Constraints).toEqual([`node.id==${swarm!.nodeId}`]);
    expect(await readFile(join(dataDir, identityFor(ada).id, 'marker.txt'), 'utf8')).toBe('ada was here');
  }, 90_000);

  test('a chat answer streams as server-sent events through the service address', async () => {
    const res = await call(gateway, '/chat', ada, { method: 'POST', body: '{}' }, { 'x-test-mode': 'sse', 'x-test-events': '4' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = (await res.text()).split('\n').filter((l) => l.startsWith('data: '));
    expect(events.length).toBeGreaterThanOrEqual(4);
  }, 30_000);

  test('a task\'s container paused on the node: its student gets 503 agent_paused from the engine\'s event, not a timeout; unpause serves again', async () => {
    const service = await serviceOf(ada);
    const tasks = (await docker.listTasks({ filters: { service: [service.ID], 'desired-state': ['running'] } })) as Array<{ Status: { ContainerStatus?: { ContainerID?: string } } }>;
    const container = docker.getContainer(tasks[0]!.Status.ContainerStatus!.ContainerID!);
    await container.pause();
    try {
      const started = performance.now();
      const res = await call(gateway, '/memory', ada);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe('agent_paused');
      // The quick header deadline is 30 s here: only the pause event answers this fast.
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await container.unpause();
    }
    await eventually(async () => expect((await call(gateway, '/memory', ada)).status).toBe(200), 10_000, 100);
  }, 30_000);

  test('20 users at once each get their own service, and every one is answered', async () => {
    const users = Array.from({ length: 20 }, (_, i) => email(`crowd${i}`));
    const began = performance.now();
    const answers = await Promise.all(users.map((u) => call(gateway, '/health', u)));
    console.log(`20 swarm agents answered in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    expect(answers.map((r) => r.status)).toEqual(users.map(() => 200));
    const services = await docker.listServices({ filters: { label: [...instanceLabelFilters(instance)] } });
    for (const u of users) expect(services.some((s) => s.Spec?.Name === identityFor(u, instance).containerName)).toBe(true);
    // Room for the next tests on a 2-core machine.
    for (const u of users) await docker.getService((await serviceOf(u)).ID).remove();
  }, 180_000);

  test('a restarted gateway adopts the running service: no new task, no update, the same agent answers', async () => {
    const before = await serviceOf(ada);
    const [taskBefore] = await runningTasks(before);
    await stopGateway(gateway);
    gateway = await startGateway('adopted');
    const state = await call(gateway, '/agent', ada);
    expect(await state.json()).toEqual({ state: 'running' });
    const res = await call(gateway, '/memory', ada);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { marker: string | null }).marker).toBe('ada was here');
    const after = await serviceOf(ada);
    expect(after.Version.Index).toBe(before.Version.Index);
    expect((await runningTasks(after)).map((t) => t.ID)).toEqual([taskBefore!.ID]);
  }, 90_000);

  test('a new token secret updates the service in place (same id, new version) rather than recreating it', async () => {
    const before = await serviceOf(ada);
    await stopGateway(gateway);
    gateway = await startGateway('rotated', { AGENT_TOKEN_SECRET: 'rotated-agent-secret' });
    const res = await call(gateway, '/memory', ada);
    expect(res.status).toBe(200);
    const after = await serviceOf(ada);
    expect(after.ID).toBe(before.ID);
    expect(after.Version.Index).toBeGreaterThan(before.Version.Index);
    expect(after.Spec.Labels[LABELS.tokenFingerprint]).not.toBe(before.Spec.Labels[LABELS.tokenFingerprint]);
    // The placement recorded at creation is kept.
    expect(after.Spec.TaskTemplate.Placement).toEqual(before.Spec.TaskTemplate.Placement);
  }, 120_000);

  test('an idle agent is scaled to 0, not removed, and the next request scales it to 1 with its data', async () => {
    await stopGateway(gateway);
    gateway = await startGateway('culling', { AGENT_TOKEN_SECRET: 'rotated-agent-secret', IDLE_TIMEOUT: '2s' });
    expect((await call(gateway, '/health', ada)).status).toBe(200);
    const { ID } = await serviceOf(ada);
    await eventually(async () => expect((await serviceOf(ada)).Spec.Mode?.Replicated?.Replicas).toBe(0), 60_000, 500);
    // `stopping` until the task has stopped: the gateway waits for that before it may start it again.
    await eventually(async () => expect(await (await call(gateway, '/agent', ada)).json()).toEqual({ state: 'stopped' }), 40_000, 500);
    const again = await call(gateway, '/memory', ada);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { marker: string | null }).marker).toBe('ada was here');
    const after = await serviceOf(ada);
    expect(after.ID).toBe(ID);
    expect(after.Spec.Mode?.Replicated?.Replicas).toBe(1);
  }, 120_000);
});

describe('a task that fails at start', () => {
  test('is answered 503 with the exit code and the agent\'s own error line, and the service is scaled to 0', async () => {
    const failing = await startGateway('fail', { GATEWAY_INSTANCE: `${instance}-fail`, AGENT_COMMAND: 'crash' });
    const user = email('crash');
    const began = performance.now();
    const res = await call(failing, '/health', user);
    console.log(`a failing swarm task was reported in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; error: string };
    expect(body.code).toBe('agent_exited');
    expect(body.error).toContain('exited with code 2');
    expect(body.error).toContain('usage: agent.ts gateway (got crash)');
    expect((await serviceOf(user, `${instance}-fail`)).Spec.Mode?.Replicated?.Replicas).toBe(0);
    await stopGateway(failing);
  }, 120_000);
});
