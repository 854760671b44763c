/** gateway/Dockerfile builds on the project's base image and the result serves the gateway. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { buildImage } from '../../scripts/lib/images.ts';
import { capture } from '../../scripts/lib/run.ts';

const TAG = 'nbtest-gw-gateway:latest';
const NAME = `nbtest-gw-image-${crypto.randomUUID().slice(0, 8)}`;

async function docker(...args: string[]): Promise<string> {
  const result = await capture(['docker', ...args]);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

beforeAll(async () => {
  await buildImage({ dockerfile: 'gateway/Dockerfile', tag: TAG, quiet: true });
}, 300_000);

afterAll(async () => {
  await capture(['docker', 'rm', '-f', NAME]);
}, 60_000);

test('the gateway image refuses to start without a token and names the variable', async () => {
  const result = await capture(['docker', 'run', '--rm', '-e', 'AGENT_TOKEN_SECRET=s', TAG]);
  expect(result.code).toBe(1);
  expect(result.stdout + result.stderr).toContain('GATEWAY_TOKEN is required');
}, 60_000);

test('the gateway image serves /healthz', async () => {
  await docker('run', '-d', '--name', NAME, '-p', '127.0.0.1::8080', '-e', 'GATEWAY_TOKEN=t', '-e', 'AGENT_TOKEN_SECRET=s', '-e', `GATEWAY_INSTANCE=${NAME}`, TAG);
  const address = (await docker('port', NAME, '8080/tcp')).split('\n')[0]!;
  let res: Response | undefined;
  for (let attempt = 0; attempt < 100 && !res; attempt += 1) {
    res = await fetch(`http://${address}/healthz`).catch(() => undefined);
    if (!res) await Bun.sleep(100);
  }
  expect(res?.status).toBe(200);
  expect(await res?.json()).toEqual({ status: 'ok' });
}, 60_000);
