/** Two stacks (GATEWAY_INSTANCE) on one Docker Engine never use, start or remove each other's agents. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { AGENT_IMAGE, buildTestAgent, createTestBed, NETWORK, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

let bed: Awaited<ReturnType<typeof createTestBed>>;
const gateways: TestGateway[] = [];
const run = crypto.randomUUID().slice(0, 8);
const user = `shared.${run}@example.com`;

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
}, 300_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await bed?.cleanup();
}, 60_000);

/** A gateway of another stack: its own instance and data folder, optionally its own token secret. */
async function stack(instance: string, extra: Record<string, string> = {}) {
  const dataDir = join(bed.dataDir, instance);
  await mkdir(dataDir, { recursive: true });
  const gateway = await startTestGateway({ ...bed.env, GATEWAY_INSTANCE: instance, DATA_DIR: dataDir, ...extra });
  gateways.push(gateway);
  return gateway;
}

async function containerIdOf(instance: string): Promise<string> {
  const found = await bed.docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${instance}`, `${LABELS.userId}=${identityFor(user).id}`] } });
  expect(found).toHaveLength(1);
  return found[0]!.Id;
}

const ask = (gateway: TestGateway) => fetch(`${gateway.url}/memory`, { headers: authHeaders(user) });

describe('two gateway instances on one engine', () => {
  test('serve the same user each from its own container, with the same or another token secret, and neither removes the other\'s', async () => {
    const a = await stack(bed.instance);
    const b = await stack(bed.instanceNamed('b'));
    const c = await stack(bed.instanceNamed('c'), { AGENT_TOKEN_SECRET: 'another-stacks-secret' });

    for (const gateway of [a, b, c]) expect((await ask(gateway)).status).toBe(200);
    const ids = [await containerIdOf(a.settings.agents.instance), await containerIdOf(b.settings.agents.instance), await containerIdOf(c.settings.agents.instance)];
    expect(new Set(ids).size).toBe(3);
    for (const [i, gateway] of [a, b, c].entries()) {
      const info = await bed.docker.getContainer(ids[i]!).inspect();
      expect(info.Name).toBe(`/${identityFor(user, gateway.settings.agents.instance).containerName}`);
      expect(info.Config.Labels[LABELS.instance]).toBe(gateway.settings.agents.instance);
    }

    // Round after round, every stack keeps being served by the very same container.
    for (let round = 0; round < 2; round += 1) {
      for (const gateway of [c, a, b]) expect((await ask(gateway)).status).toBe(200);
    }
    const after = [await containerIdOf(a.settings.agents.instance), await containerIdOf(b.settings.agents.instance), await containerIdOf(c.settings.agents.instance)];
    expect(after).toEqual(ids);
    for (const id of ids) expect((await bed.docker.getContainer(id).inspect()).State.Running).toBe(true);
  }, 120_000);

  test('a container holding the default instance\'s name but another instance\'s label is left alone: 503 name_taken', async () => {
    const stranger = `stranger.${run}@example.com`;
    const other = bed.instanceNamed('owner');
    const foreign = await bed.docker.createContainer({
      name: identityFor(stranger).containerName,
      Image: AGENT_IMAGE,
      Labels: { [LABELS.managed]: 'true', [LABELS.instance]: other, [LABELS.userId]: identityFor(stranger).id },
      HostConfig: { NetworkMode: NETWORK },
    });
    const defaultStack = await stack('default');
    const res = await fetch(`${defaultStack.url}/memory`, { headers: authHeaders(stranger) });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; error: string };
    expect(body.code).toBe('name_taken');
    expect(body.error).toContain(other);
    const info = await foreign.inspect();
    expect(info.State.Status).toBe('created');
    expect(info.Config.Labels[LABELS.instance]).toBe(other);
  }, 120_000);
});
