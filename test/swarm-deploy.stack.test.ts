/**
 * deploy/swarm/stack.yml deployed for real with `docker stack deploy` on a single-node swarm,
 * following the README's "Docker Swarm" steps: the node labelled as the data node, the images
 * built locally (no registry: Swarm warns and uses them), the folders and the Docker secrets made,
 * the stack deployed, both services healthy; then a student added with `bun run students` inside
 * the gateway's container, signed in on the web app at its published port, and answered by the
 * fake LLM of agent/test/fake-llm.ts through their agent (a Swarm service the gateway made) and the
 * gateway's LLM relay. Everything is named for this run (stack, instance, network, secrets, port,
 * folder); the last test removes it all and checks that nothing is left, and afterAll does the same
 * again when a test failed before, then leaves the swarm if it was this test that made it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DEFAULT_ANSWER_INTRO, startFakeLlm, textOf, type FakeLlm } from '../agent/test/fake-llm.ts';
import { identityFor } from '../gateway/src/identity.ts';
import { instanceLabelFilters, LABELS } from '../gateway/src/runtime/labels.ts';
import type { ServiceInfo } from '../gateway/src/runtime/swarm-spec.ts';
import { buildImage, REPO_ROOT } from '../scripts/lib/images.ts';
import { eventually } from './support/eventually.ts';
import { joinSwarm, type JoinedSwarm } from './support/swarm.ts';

const MINUTE = 60_000;
const docker = new Docker();
const run = crypto.randomUUID().slice(0, 8);
const stack = `nbsd${run}`;
const instance = `nbtest-sd-${run}`;
const network = `${stack}-agents`;
const secretPrefix = `${stack}-`;
const EMAIL = `ada.${run}@example.edu`;
const ADMIN = `it.${run}@example.edu`;
const PASSWORD = 'a swarm of bees in may';
const QUESTION = 'What does E = mc^2 mean?';
/** The stack's images, under tags of this test's own, built from this repository (cached layers make it quick). */
const IMAGES = {
  GATEWAY_IMAGE: { tag: 'nbtest-swarm-gateway:latest', dockerfile: 'gateway/Dockerfile' },
  WEB_IMAGE: { tag: 'nbtest-swarm-web:latest', dockerfile: 'web/Dockerfile' },
  AGENT_IMAGE: { tag: 'nbtest-swarm-tutor:latest', dockerfile: 'agent/Dockerfile' },
};
const SECRETS = ['gateway_token', 'agent_token_secret', 'user_assertion_secret', 'admin_token', 'session_secret'];
const secretValues = SECRETS.map(() => Buffer.from(crypto.getRandomValues(new Uint8Array(36))).toString('base64url'));
const stackLabel = `com.docker.stack.namespace=${stack}`;

let swarm: JoinedSwarm | undefined;
/** Whether this test put the data label on the node (and so takes it off again). */
let labelled = false;
let folder = '';
let llm: FakeLlm | undefined;
let webUrl = '';
/** The signed-in sessions' cookies, by email. */
const cookies = new Map<string, string>();

/** A docker command with extra environment (the stack file's variables); throws with its output when it fails. */
async function dockerCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<string> {
  const child = Bun.spawn(['docker', ...args], { env: { ...process.env, ...env }, stdin: stdin === undefined ? 'ignore' : new Blob([stdin]), stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`docker ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  return stdout;
}

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response() });
  const port = server.port!;
  await server.stop(true);
  return port;
}

/** The running, healthy container of one of the stack's services. */
async function healthyTask(service: string): Promise<string> {
  const [found] = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=${stack}_${service}`], health: ['healthy'] } });
  if (!found) throw new Error(`${stack}_${service} has no healthy task yet`);
  return found.Id;
}

const agentServices = () => docker.listServices({ filters: { label: instanceLabelFilters(instance) } }) as Promise<ServiceInfo[]>;

/** What the run made and the swarm holds, for the removal and its check. */
async function leftovers() {
  return {
    services: [...(await docker.listServices({ filters: { label: [stackLabel] } })), ...(await agentServices())].map((s) => s.Spec?.Name),
    containers: [
      ...(await docker.listContainers({ all: true, filters: { label: [stackLabel] } })),
      ...(await docker.listContainers({ all: true, filters: { label: instanceLabelFilters(instance) } })),
    ].map((c) => c.Names[0]),
    networks: (await docker.listNetworks()).filter((n) => n.Name.startsWith(stack)).map((n) => n.Name),
    volumes: ((await docker.listVolumes({ filters: { label: [stackLabel] } })).Volumes ?? []).map((v) => v.Name),
    secrets: (await docker.listSecrets()).map((s) => s.Spec?.Name ?? '').filter((name) => name.startsWith(secretPrefix)),
  };
}

/** `docker stack rm`, then what the gateway made outside the stack; each step waits for what it needs gone. */
async function removeEverything(): Promise<void> {
  await dockerCli(['stack', 'rm', stack]).catch(() => {});
  // The gateway must be gone before its agents are removed, or it could make another.
  await eventually(async () => expect(await docker.listContainers({ all: true, filters: { label: [stackLabel] } })).toEqual([]), MINUTE, 500);
  for (const service of await agentServices()) await docker.getService(service.ID).remove().catch(() => {});
  await eventually(async () => expect(await docker.listContainers({ all: true, filters: { label: instanceLabelFilters(instance) } })).toEqual([]), MINUTE, 500);
  // Networks and secrets go once no task uses them; `stack rm` may have tried too early.
  await eventually(async () => {
    const left = await leftovers();
    for (const name of left.networks) await docker.getNetwork(name).remove().catch(() => {});
    for (const name of left.secrets) await docker.getSecret(name).remove().catch(() => {});
    expect([...left.networks, ...left.secrets]).toEqual([]);
  }, MINUTE, 500);
  if (labelled && swarm) {
    await dockerCli(['node', 'update', '--label-rm', 'nanobot.data', swarm.nodeId]);
    labelled = false;
  }
  if (folder) rmSync(folder, { recursive: true, force: true });
}

/** The server-sent events of a response, in order, as they arrive. */
async function eventsOf(response: Response): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${webUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: webUrl, ...headers }, body: JSON.stringify(body) });

const sessionCookieOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

beforeAll(async () => {
  swarm = await joinSwarm(docker);
  // README step 1: this node holds the students' folders.
  const node = await docker.getNode(swarm.nodeId).inspect();
  if (node.Spec.Labels?.['nanobot.data'] !== 'true') {
    await dockerCli(['node', 'update', '--label-add', 'nanobot.data=true', swarm.nodeId]);
    labelled = true;
  }
  // Step 2: the images, on this node only.
  await Promise.all(Object.values(IMAGES).map(({ tag, dockerfile }) => buildImage({ dockerfile, tag, quiet: true })));
  // The fake provider, on the address where containers on an overlay network reach this machine (docker_gwbridge).
  const gwbridge = await docker.getNetwork('docker_gwbridge').inspect();
  const address = gwbridge.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
  if (!address) throw new Error('docker_gwbridge has no gateway address');
  llm = startFakeLlm({ hostname: address });
  // Step 3: the folders.
  folder = mkdtempSync(join(tmpdir(), `${stack}-`));
  mkdirSync(join(folder, 'data'));
  cpSync(join(REPO_ROOT, 'agent', 'templates'), join(folder, 'templates'), { recursive: true });
  const config = {
    providers: { custom: { apiKey: 'test-provider-key', apiBase: `http://${address}:${llm.port}/v1` } },
    agents: { defaults: { model: 'fake-tutor', maxTokens: 256, maxToolIterations: 2 } },
  };
  writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
  // Step 4: the secrets.
  for (const [i, name] of SECRETS.entries()) await dockerCli(['secret', 'create', `${secretPrefix}${name}`, '-'], {}, secretValues[i]);
  // Step 5: the deploy.
  const port = await freePort();
  webUrl = `http://127.0.0.1:${port}`;
  await dockerCli(['stack', 'deploy', '-c', join(REPO_ROOT, 'deploy', 'swarm', 'stack.yml'), stack], {
    ...Object.fromEntries(Object.entries(IMAGES).map(([name, { tag }]) => [name, tag])),
    GATEWAY_INSTANCE: instance,
    NETWORK_NAME: network,
    DATA_DIR: join(folder, 'data'),
    CONFIG_PATH: join(folder, 'config.json'),
    TEMPLATE_DIR: join(folder, 'templates'),
    WEB_PORT: String(port),
    PUBLIC_URL: webUrl,
    ADMIN_EMAILS: ADMIN,
    SECRET_PREFIX: secretPrefix,
    AGENT_MEMORY: '256m',
  });
}, 10 * MINUTE);

afterAll(async () => {
  try {
    await llm?.stop();
    await removeEverything();
  } finally {
    await swarm?.leave();
  }
}, 3 * MINUTE);

describe('the stack deployed on a single-node swarm', () => {
  test('the gateway and the web app become healthy, and the web app answers on its published port', async () => {
    await eventually(() => Promise.all([healthyTask('gateway'), healthyTask('web')]), 3 * MINUTE, 1_000);
    const login = await fetch(`${webUrl}/login`);
    expect(login.status).toBe(200);
  }, 4 * MINUTE);

  test('an administrator adds accounts with `bun run students` in the gateway container; each student sets a password and signs in', async () => {
    const gateway = await healthyTask('gateway');
    const out = await dockerCli(['exec', gateway, 'bun', 'run', 'students', 'add', EMAIL, ADMIN]);
    for (const email of [EMAIL, ADMIN]) {
      const link = new RegExp(`^${email.replaceAll('.', '\\.')}\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '';
      expect(link).toStartWith(`${webUrl}/invite/`);
      const accepted = await post('/api/auth/invite', { token: link.slice(`${webUrl}/invite/`.length), password: PASSWORD });
      expect(accepted.status).toBe(200);
      const signedIn = await post('/api/auth/login', { email, password: PASSWORD });
      expect(signedIn.status).toBe(200);
      cookies.set(email, sessionCookieOf(signedIn));
    }
    expect(cookies.get(EMAIL)).not.toBe('');
  }, MINUTE);

  test('the signed-in student gets a streamed answer from the LLM, through their agent and the relay', async () => {
    const answer = await post('/api/chat', { message: QUESTION }, { Cookie: cookies.get(EMAIL)!, Accept: 'text/event-stream' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/event-stream');
    const events = await eventsOf(answer);
    expect(events.filter((e) => e.event === 'delta').length).toBeGreaterThan(1);
    const done = events.find((e) => e.event === 'done');
    expect(String(done?.data.response)).toContain(DEFAULT_ANSWER_INTRO);
    // The provider saw the question with the real key, which only the gateway's relay holds.
    const index = llm!.requests.findIndex((r) => textOf(r.messages.findLast((m) => m.role === 'user')?.content).includes(QUESTION));
    expect(index).toBeGreaterThanOrEqual(0);
    expect(llm!.apiKeys[index]).toBe('test-provider-key');
  }, 2 * MINUTE);

  test('the agent is a Swarm service of this instance, one replica pinned to this node, running', async () => {
    const services = await agentServices();
    expect(services.map((s) => s.Spec.Name)).toEqual([identityFor(EMAIL, instance).containerName]);
    const [agent] = services;
    expect(agent!.Spec.Labels[LABELS.instance]).toBe(instance);
    expect(agent!.Spec.Mode?.Replicated?.Replicas).toBe(1);
    expect(agent!.Spec.TaskTemplate.Placement?.Constraints).toEqual([`node.id==${swarm!.nodeId}`]);
    expect(agent!.Spec.TaskTemplate.ContainerSpec?.Image).toBe(IMAGES.AGENT_IMAGE.tag);
    const tasks = await docker.listTasks({ filters: { service: [agent!.ID], 'desired-state': ['running'] } });
    expect(tasks.map((t: { Status: { State: string } }) => t.Status.State)).toEqual(['running']);
  }, 30_000);

  test('the admin page lists the agent: the web app has the admin token from its secret file', async () => {
    const listed = await fetch(`${webUrl}/api/admin/agents`, { headers: { Cookie: cookies.get(ADMIN)! } });
    expect(listed.status).toBe(200);
    const { agents } = (await listed.json()) as { agents: Array<{ email: string; state: string }> };
    expect(agents).toEqual([expect.objectContaining({ email: EMAIL, state: 'running' })]);
    expect((await fetch(`${webUrl}/api/admin/agents`, { headers: { Cookie: cookies.get(EMAIL)! } })).status).toBe(404);
  }, 30_000);

  test('no secret is visible in `docker inspect` of any service or container: they come as *_FILE', async () => {
    const services = [...(await docker.listServices({ filters: { label: [stackLabel] } })), ...(await agentServices())];
    const containers = [
      ...(await docker.listContainers({ filters: { label: [stackLabel] } })),
      ...(await docker.listContainers({ filters: { label: instanceLabelFilters(instance) } })),
    ];
    expect(services.length).toBe(3);
    expect(containers.length).toBe(3);
    const inspected = [
      ...(await Promise.all(services.map((s) => docker.getService(s.ID).inspect()))),
      ...(await Promise.all(containers.map((c) => docker.getContainer(c.Id).inspect()))),
    ];
    for (const found of inspected) {
      const text = JSON.stringify(found);
      for (const value of secretValues) expect(text).not.toContain(value);
    }
    const gateway = (await docker.getService(`${stack}_gateway`).inspect()) as ServiceInfo;
    const env = gateway.Spec.TaskTemplate.ContainerSpec?.Env ?? [];
    expect(env).toContain('GATEWAY_TOKEN_FILE=/run/secrets/gateway_token');
    expect(env.filter((line) => /^(GATEWAY_TOKEN|AGENT_TOKEN_SECRET|ADMIN_TOKEN|USER_ASSERTION_SECRET)=/.test(line))).toEqual([]);
  }, 30_000);

  test('docker stack rm and the cleanup leave no service, container, network, volume, secret or folder of the run', async () => {
    await removeEverything();
    expect(await leftovers()).toEqual({ services: [], containers: [], networks: [], volumes: [], secrets: [] });
    expect(existsSync(folder)).toBe(false);
  }, 3 * MINUTE);
});
