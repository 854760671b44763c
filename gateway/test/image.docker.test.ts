/** gateway/Dockerfile builds on the project's base image and the result serves the gateway. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../scripts/lib/images.ts';
import { capture } from '../../scripts/lib/run.ts';
import { identityFor } from '../src/identity.ts';
import { buildTestAgent, createTestBed, NETWORK } from './docker-harness.ts';
import { authHeaders, TOKEN } from './helpers.ts';

const TAG = 'nbtest-gw-gateway:latest';
const NAME = `nbtest-gw-image-${crypto.randomUUID().slice(0, 8)}`;
const ON_NETWORK = `${NAME}-net`;
let bed: Awaited<ReturnType<typeof createTestBed>>;

async function docker(...args: string[]): Promise<string> {
  const result = await capture(['docker', ...args]);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

beforeAll(async () => {
  bed = await createTestBed();
  await buildImage({ dockerfile: 'gateway/Dockerfile', tag: TAG, quiet: true });
  await buildTestAgent();
}, 300_000);

afterAll(async () => {
  await capture(['docker', 'rm', '-f', NAME, ON_NETWORK]);
  await bed?.cleanup();
}, 60_000);

/** The host address Docker published a container's port 8080 on, once it answers /healthz. */
async function publishedUrl(container: string): Promise<string> {
  const url = `http://${(await docker('port', container, '8080/tcp')).split('\n')[0]!}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return url;
    await Bun.sleep(100);
  }
  throw new Error(`${container} never answered /healthz`);
}

test('the gateway image refuses to start without a token and names the variable', async () => {
  const result = await capture(['docker', 'run', '--rm', '-e', 'AGENT_TOKEN_SECRET=s', TAG]);
  expect(result.code).toBe(1);
  expect(result.stdout + result.stderr).toContain('GATEWAY_TOKEN is required');
}, 60_000);

test('the gateway image serves /healthz', async () => {
  await docker('run', '-d', '--name', NAME, '-p', '127.0.0.1::8080', '-e', 'GATEWAY_TOKEN=t', '-e', 'AGENT_TOKEN_SECRET=s', '-e', 'GATEWAY_TRUST_EMAIL_HEADER=1', '-e', `GATEWAY_INSTANCE=${NAME}`, TAG);
  const res = await fetch(`${await publishedUrl(NAME)}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}, 60_000);

test('the gateway in a container on the agents\' network spawns an agent and reaches it', async () => {
  await capture(['docker', 'network', 'create', NETWORK]);
  await docker(
    'run', '-d', '--name', ON_NETWORK, '--network', NETWORK, '-p', '127.0.0.1::8080',
    '-v', '/var/run/docker.sock:/var/run/docker.sock',
    '-v', `${bed.dataDir}:/data`,
    '-v', `${bed.env.CONFIG_PATH}:/config/config.json:ro`,
    '-e', `GATEWAY_TOKEN=${TOKEN}`, '-e', 'AGENT_TOKEN_SECRET=s', '-e', 'GATEWAY_TRUST_EMAIL_HEADER=1',
    '-e', `GATEWAY_INSTANCE=${bed.instance}`, '-e', `AGENT_IMAGE=${bed.env.AGENT_IMAGE}`, '-e', `NETWORK_NAME=${NETWORK}`,
    '-e', 'DATA_DIR=/data', '-e', `HOST_DATA_DIR=${bed.dataDir}`,
    TAG,
  );
  const url = await publishedUrl(ON_NETWORK);
  const user = `boxed.${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await fetch(`${url}/memory`, { headers: authHeaders(user, { 'X-Test-Write': 'inside' }) });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { headers: Record<string, string> }).headers['x-user-id']).toBe(identityFor(user).id);
  expect(existsSync(join(bed.dataDir, identityFor(user).id, 'marker.txt'))).toBe(true);
}, 120_000);
