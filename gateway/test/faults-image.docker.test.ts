/**
 * Fault: the agent image removed under a running gateway. A new student is told 503 image_missing and
 * gets no empty data folder; a student whose stopped container still exists is served from it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../scripts/lib/run.ts';
import { eventually } from '../../test/support/eventually.ts';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { buildTutor, createTestBed, startTestGateway, TUTOR_IMAGE, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

const run = crypto.randomUUID().slice(0, 8);
/** A tag of this file's own: removing it takes nothing from anyone else (the image keeps its other tags). */
const THROWAWAY = `nbtest-faults-tutor:gone-${run}`;
let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway;

async function docker(...args: string[]): Promise<void> {
  const result = await capture(['docker', ...args]);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr}`);
}

beforeAll(async () => {
  bed = await createTestBed();
  await buildTutor();
  await docker('tag', TUTOR_IMAGE, THROWAWAY);
  gateway = await startTestGateway({ ...bed.env, AGENT_IMAGE: THROWAWAY, AGENT_MEMORY: '256m' });
}, 600_000);

afterAll(async () => {
  await gateway?.stop();
  await capture(['docker', 'rmi', THROWAWAY]);
  await bed?.cleanup();
}, 60_000);

const files = (user: string) => fetch(`${gateway.url}/files`, { headers: authHeaders(user) });
const identityOf = (user: string) => identityFor(user, bed.instance);

test('with the image gone, a new student gets 503 image_missing and no folder; a stopped agent still starts', async () => {
  const kept = `kept.${run}@example.com`;
  expect((await files(kept)).status).toBe(200);
  await bed.docker.getContainer(identityOf(kept).containerName).stop();
  await eventually(() => expect(gateway.routes.get(identityOf(kept).id)).toBeUndefined(), 30_000, 50);

  await docker('rmi', THROWAWAY);

  const newcomer = `newcomer.${run}@example.com`;
  const refused = await files(newcomer);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBeTruthy();
  expect(((await refused.json()) as { code: string }).code).toBe('image_missing');
  expect(existsSync(join(bed.dataDir, identityOf(newcomer).id))).toBe(false);
  expect(await bed.containers([`${LABELS.userId}=${identityOf(newcomer).id}`])).toEqual([]);

  expect((await files(kept)).status).toBe(200);
  expect((await bed.docker.getContainer(identityOf(kept).containerName).inspect()).State.Running).toBe(true);
}, 120_000);
