/**
 * Rootless Podman as the engine: a throwaway user runs `podman system service`, the gateway runs as
 * that user's container on a Podman network with the user's socket as its Docker socket, and agents
 * run as the user's subordinate uids. Nothing of it may run as root on the host. The images are built
 * by Docker (cached) and loaded into the user's storage, as docs/podman.md describes without Docker.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../scripts/lib/images.ts';
import { eventually } from '../../test/support/eventually.ts';
import { agentNames, createRootlessUser, inspectContainer, rootProcessesNaming, uidsOf, type RootlessUser } from '../../test/support/rootless-podman.ts';
import { AGENT_IMAGE, buildTestAgent } from './docker-harness.ts';
import { authHeaders, TOKEN } from './helpers.ts';

const GATEWAY_IMAGE = 'nbtest-gw-gateway:latest';
/** The test agent as a non-root image (uid 1000, like nanobot-tutor), built in the user's storage. */
const POD_AGENT_IMAGE = 'nbtest-pod-agent:latest';
const NETWORK = 'nbtest-pod-net';
const GATEWAY = 'nbtest-pod-gateway';
const USER = 'ann@example.edu';

let user: RootlessUser;
let url: string;
let port: number;

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const found = server.port ?? 0;
  await server.stop(true);
  return found;
}

const call = (path: string, extra: Record<string, string> = {}) => fetch(`${url}${path}`, { headers: authHeaders(USER, extra) });

const inspect = (name: string) => inspectContainer(user, name);

beforeAll(async () => {
  await Promise.all([buildTestAgent(), buildImage({ dockerfile: 'gateway/Dockerfile', tag: GATEWAY_IMAGE, quiet: true })]);
  user = await createRootlessUser();
  // No registry: Docker's images go into the user's own storage.
  const saved = Bun.spawn(['docker', 'save', GATEWAY_IMAGE, AGENT_IMAGE], { stdout: 'pipe', stderr: 'pipe' });
  const loaded = await user.run(['podman', 'load', '--quiet'], await new Response(saved.stdout).blob());
  if ((await saved.exited) !== 0 || loaded.code !== 0) throw new Error(`loading the images into the user's Podman failed: ${loaded.stderr}`);
  // A RUN step proves the user can build too; /root traversable as in agent/Dockerfile.
  await user.run(['mkdir', '-p', 'agent-image']);
  await user.run(['sh', '-c', `printf 'FROM localhost/${AGENT_IMAGE}\\nRUN chmod 711 /root\\nUSER 1000:1000\\n' > agent-image/Dockerfile`]);
  await user.podman('build', '--quiet', '--tag', POD_AGENT_IMAGE, 'agent-image');
  await user.run(['mkdir', '-p', 'data']);
  await user.run(['sh', '-c', `echo '{"agents":{"defaults":{"model":"test"}}}' > config.json`]);
  await user.podman('network', 'create', NETWORK);
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const data = join(user.home, 'data');
  const config = join(user.home, 'config.json');
  await user.podman(
    'run', '--detach', '--name', GATEWAY, '--network', NETWORK, '--publish', `127.0.0.1:${port}:8080`,
    '--volume', `${user.socket}:/var/run/docker.sock`, '--volume', `${data}:/data`, '--volume', `${config}:/config/config.json:ro`,
    '--env', `GATEWAY_TOKEN=${TOKEN}`, '--env', 'AGENT_TOKEN_SECRET=test-agent-secret', '--env', 'GATEWAY_TRUST_EMAIL_HEADER=1',
    '--env', `GATEWAY_INSTANCE=${user.name}`, '--env', `AGENT_IMAGE=${POD_AGENT_IMAGE}`, '--env', `NETWORK_NAME=${NETWORK}`,
    '--env', `HOST_DATA_DIR=${data}`, '--env', 'AGENT_MEMORY=128m', '--env', 'START_TIMEOUT_MS=30000',
    GATEWAY_IMAGE,
  );
  await eventually(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), 30_000);
}, 240_000);

afterAll(async () => {
  await user?.remove();
}, 120_000);

describe('rootless Podman', () => {
  test('a first request spawns the agent, whose data folder belongs to its mapped uid, not to root', async () => {
    const res = await call('/chat', { 'x-test-write': 'kept' });
    expect(res.status).toBe(200);
    expect((await res.json()).marker).toBe('kept');
    const [agent] = await agentNames(user);
    expect(agent).toStartWith(`agent-${user.name}-`);
    // Container uid 1000 is the user's subordinate uid start + 999: neither root nor the user.
    const folder = statSync(join(user.home, 'data', agent!.slice(`agent-${user.name}-`.length)));
    expect(folder.uid).toBe(user.subuidStart + 999);
    expect(folder.mode & 0o777).toBe(0o700);
  }, 60_000);

  test('an answer streams through the gateway event by event', async () => {
    const res = await call('/chat', { 'x-test-mode': 'sse', 'x-test-events': '4' });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    let text = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      arrivals.push(Date.now());
      text += new TextDecoder().decode(read.value);
    }
    expect(text.split('\n').filter((l) => l.startsWith('data: '))).toHaveLength(4);
    // 300 ms apart at the agent: a buffered answer would arrive in one piece at the end.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(600);
  }, 30_000);

  test('a restarted gateway adopts the running agent instead of starting another', async () => {
    const [agent] = await agentNames(user);
    const before = await inspect(agent!);
    await user.podman('restart', GATEWAY);
    await eventually(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), 30_000);
    const res = await call('/chat');
    expect(res.status).toBe(200);
    expect((await res.json()).marker).toBe('kept');
    const after = await inspect(agent!);
    expect(after.Id).toBe(before.Id);
    expect(after.State.Pid).toBe(before.State.Pid);
    expect(await agentNames(user)).toEqual([agent!]);
  }, 60_000);

  test('no process of the stack runs as root on the host', async () => {
    const [agent] = await agentNames(user);
    const gateway = await inspect(GATEWAY);
    const tutor = await inspect(agent!);
    const stack = [user.servicePid, gateway.State.Pid, gateway.State.ConmonPid, tutor.State.Pid, tutor.State.ConmonPid];
    const uids = stack.map((pid) => uidsOf(pid));
    // The service and conmons run as the user; the gateway as container root, which is the user too.
    expect(uids).toEqual([user.uid, user.uid, user.uid, user.subuidStart + 999, user.uid].map((uid) => [uid, uid, uid, uid]));
    // Nothing else of it either: no root process names the user's containers or runtime dir.
    expect(rootProcessesNaming(user, [gateway.Id, tutor.Id])).toEqual([]);
    // And every process that is the user's or their subordinate uids' is not root in any of its uids.
    expect(user.pids().length).toBeGreaterThanOrEqual(stack.length);
    for (const pid of user.pids()) expect(uidsOf(pid) ?? [1]).not.toContain(0);
  }, 30_000);
});
