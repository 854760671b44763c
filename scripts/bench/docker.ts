/** What the bench asks the Docker Engine itself, through the `docker` CLI, and its baseline starts. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { instanceFilterArgs, LABELS } from '../../gateway/src/runtime/labels.ts';
import { AGENT_HARDENING } from '../../gateway/src/runtime/docker.ts';
import { pollHealth } from '../../test/support/eventually.ts';
import { capture } from '../lib/run.ts';

export const PREFIX = 'nbbench';
export const IMAGE = `${PREFIX}-agent:latest`;
export const NETWORK = `${PREFIX}-net`;
/** The gateway's `GATEWAY_INSTANCE`: every agent it creates carries it as its instance label. */
export const INSTANCE = PREFIX;
/** The soak's own gateway and its reference-agent containers (`--soak`). */
export const SOAK_INSTANCE = `${PREFIX}-soak`;
export const TUTOR_IMAGE = `${PREFIX}-tutor:latest`;
/** Label on what the bench creates itself (baseline containers, the network). */
const OWN_LABEL = `${PREFIX}=true`;
export const AGENT_PORT = 8000;
/** The gateway's defaults for agents (docs/architecture.md), given to the baseline containers too. */
export const AGENT_LIMITS = { memoryBytes: 1024 ** 3, cpus: 1, pids: 256 };

export async function docker(args: string[]): Promise<string> {
  const result = await capture(['docker', ...args]);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

async function ownContainers(): Promise<string[]> {
  const ids = new Set<string>();
  for (const filter of [instanceFilterArgs(INSTANCE), instanceFilterArgs(SOAK_INSTANCE), ['--filter', `label=${OWN_LABEL}`]]) {
    for (const id of (await docker(['ps', '-aq', ...filter])).split('\n')) if (id) ids.add(id);
  }
  return [...ids];
}

/** Removes every container the bench (or its gateway) made, now or in an earlier, interrupted run. */
export async function removeContainers(): Promise<void> {
  const ids = await ownContainers();
  if (ids.length > 0) await docker(['rm', '-f', ...ids]);
}

export async function removeAll(): Promise<void> {
  await removeContainers();
  const network = await capture(['docker', 'network', 'rm', NETWORK]);
  // An engine can keep counting endpoints of removed containers; the next run reuses the network then.
  if (network.code !== 0 && !network.stderr.includes('not found')) console.error(`bench: could not remove network ${NETWORK}: ${network.stderr.trim()}`);
  await capture(['docker', 'image', 'rm', IMAGE, TUTOR_IMAGE]);
}

export async function createNetwork(): Promise<void> {
  const exists = await capture(['docker', 'network', 'inspect', NETWORK]);
  if (exists.code !== 0) await docker(['network', 'create', '--label', OWN_LABEL, NETWORK]);
}

export async function ipOf(container: string): Promise<string> {
  return docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, container]);
}

/** The host pid of a container's main process. */
export async function pidOf(container: string): Promise<number> {
  return Number(await docker(['inspect', '-f', '{{.State.Pid}}', container]));
}

/** The user id label of each container the gateway created, one entry per container. */
export async function gatewayAgentUserIds(): Promise<string[]> {
  const out = await docker(['ps', '-a', ...instanceFilterArgs(INSTANCE), '--format', `{{.Label "${LABELS.userId}"}}`]);
  return out.split('\n').filter(Boolean);
}

/** Running containers that are not the bench's: other work sharing this machine while it measures. */
export async function foreignRunningContainers(): Promise<number> {
  const all = (await docker(['ps', '-q'])).split('\n').filter(Boolean).length;
  const own = (await docker(['ps', '-q', ...instanceFilterArgs(INSTANCE)])).split('\n').filter(Boolean).length;
  return all - own;
}

/** Where the Engine API listens: DOCKER_HOST when it names a socket or tcp address, else the local socket. */
function engineAddress(): { base: string; unix?: string } {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (host.startsWith('tcp://')) return { base: host.replace(/^tcp:/, 'http:') };
  return { base: 'http://docker', unix: host.replace(/^unix:\/\//, '') };
}

async function engine(method: string, path: string, body?: unknown): Promise<unknown> {
  const { base, unix } = engineAddress();
  const res = await fetch(`${base}/v1.41${path}`, {
    method,
    ...(unix ? { unix } : {}),
    ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * The floor for a cold start: the three Engine API calls any launcher needs (create with the
 * gateway's settings, start, inspect for the address), made straight on the socket, then GET /health
 * every 25 ms. No CLI processes, no backoff: what Docker and the agent need, and nothing else.
 */
export async function coldStartByApi(name: string, dataDir: string, configPath: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const folder = join(dataDir, name);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await engine('POST', `/containers/create?name=${name}`, {
    Image: IMAGE,
    Cmd: ['gateway'],
    Env: [`NANOBOT_HTTP_PORT=${AGENT_PORT}`, 'NANOBOT_HTTP_TOKEN=nbbench-baseline'],
    Labels: { [PREFIX]: 'true' },
    HostConfig: {
      Binds: [`${folder}:/root/.nanobot`, `${configPath}:/root/.nanobot/config.json:ro`],
      NetworkMode: NETWORK,
      Memory: AGENT_LIMITS.memoryBytes,
      NanoCpus: AGENT_LIMITS.cpus * 1e9,
      PidsLimit: AGENT_LIMITS.pids,
      ReadonlyRootfs: true,
      ...AGENT_HARDENING,
    },
  });
  await engine('POST', `/containers/${name}/start`);
  const info = (await engine('GET', `/containers/${name}/json`)) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } };
  await pollHealth(`http://${info.NetworkSettings.Networks[NETWORK]?.IPAddress}:${AGENT_PORT}`, Date.now() + timeoutMs);
  return performance.now() - started;
}

/**
 * The baseline for a cold start: what an operator would do by hand with the same image and the
 * same settings the gateway uses (binds, network, limits, hardening), then poll /health.
 * Returns milliseconds from `docker run` to the first healthy answer.
 */
export async function coldStartByCli(name: string, dataDir: string, configPath: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const folder = join(dataDir, name);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await docker([
    'run', '-d', '--name', name, '--label', OWN_LABEL,
    '--network', NETWORK,
    '-v', `${folder}:/root/.nanobot`, '-v', `${configPath}:/root/.nanobot/config.json:ro`,
    '-e', `NANOBOT_HTTP_PORT=${AGENT_PORT}`, '-e', 'NANOBOT_HTTP_TOKEN=nbbench-baseline',
    '--memory', String(AGENT_LIMITS.memoryBytes), '--cpus', String(AGENT_LIMITS.cpus), '--pids-limit', String(AGENT_LIMITS.pids),
    '--security-opt', 'no-new-privileges:true', '--cap-drop', 'ALL', '--restart', 'on-failure:5',
    '--read-only', '--tmpfs', '/tmp:rw,nosuid,nodev,size=64m', '--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3',
    IMAGE, 'gateway',
  ]);
  const ip = await ipOf(name);
  await pollHealth(`http://${ip}:${AGENT_PORT}`, Date.now() + timeoutMs);
  return performance.now() - started;
}
