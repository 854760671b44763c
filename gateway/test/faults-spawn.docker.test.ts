/**
 * Fault: the gateway process killed with SIGKILL while it starts agents for 20 students, then started
 * again. Whatever the engine was left with (created, started, nothing), the restarted gateway serves
 * every student with exactly one container each and leaves nothing behind.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readdir } from 'node:fs/promises';
import { eventually } from '../../test/support/eventually.ts';
import { spawnGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { buildTestAgent, createTestBed } from './docker-harness.ts';
import { authHeaders, TOKEN } from './helpers.ts';

const STUDENTS = 20;
let bed: Awaited<ReturnType<typeof createTestBed>>;
let env: Record<string, string>;
const gateways: GatewayProcess[] = [];
const run = crypto.randomUUID().slice(0, 8);
const users = Array.from({ length: STUDENTS }, (_, i) => `spawn${i}.${run}@example.com`);

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
  env = {
    ...bed.env,
    GATEWAY_TOKEN: TOKEN,
    AGENT_TOKEN_SECRET: 'faults-spawn-secret',
    GATEWAY_TRUST_EMAIL_HEADER: '1',
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
    START_TIMEOUT_MS: '60000',
  };
}, 300_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop().catch(() => {});
  await bed?.cleanup();
}, 120_000);

const files = (url: string, user: string) => fetch(`${url}/files`, { headers: authHeaders(user) });

test('SIGKILL in the middle of 20 spawns, then a restart: one container per student, none orphaned, everyone served', async () => {
  const killed = await spawnGateway(env);
  gateways.push(killed);
  const cut = users.map((user) => files(killed.url, user).then((r) => r.status, () => 'reset'));
  // Mid-way: some containers exist, not all of them have started.
  await eventually(async () => {
    const made = await bed.containers();
    if (made.length < 3) throw new Error(`only ${made.length} containers so far`);
  }, 120_000, 50);
  process.kill(killed.pid, 'SIGKILL');
  await killed.exited;
  const before = await bed.containers();
  expect(before.filter((c) => c.State === 'running').length).toBeLessThan(STUDENTS);
  expect((await Promise.all(cut)).filter((status) => status !== 200).length).toBeGreaterThan(0);

  const restarted = await spawnGateway(env);
  gateways.push(restarted);
  const answers = await Promise.all(users.map((user) => files(restarted.url, user)));
  expect(answers.map((r) => r.status)).toEqual(Array(STUDENTS).fill(200));

  const after = await bed.containers();
  const identities = users.map((user) => identityFor(user, bed.instance));
  const ids = identities.map((identity) => identity.id).sort();
  expect(after.map((c) => c.Labels[LABELS.userId]).sort()).toEqual(ids);
  expect(after.every((c) => c.State === 'running')).toBe(true);
  // Each container carries its student's name, so no second one can appear for them later.
  expect(after.map((c) => c.Names[0]).sort()).toEqual(identities.map((identity) => `/${identity.containerName}`).sort());
  const folders = (await readdir(bed.dataDir)).filter((name) => !name.startsWith('.') && name !== 'config.json');
  expect(folders.sort()).toEqual(ids);
}, 300_000);
