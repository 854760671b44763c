/**
 * Fault: the Docker Engine (dockerd) restarted under a running gateway. The gateway follows the engine's
 * events again and serves again without being restarted itself. Agents stop with the engine; the next
 * request of their student starts them again (docs/architecture.md, "Faults").
 *
 * Restarting dockerd stops every container on the engine, so this file runs last, in a `bun test` of its
 * own (package.json "test"), and only where that is allowed: CI=true (set by .ci/run) or
 * NANOBOT_ALLOW_DOCKERD_RESTART=1 (set by `bun run test`). Anywhere else it fails, never skips.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { capture } from '../../scripts/lib/run.ts';
import { eventually } from '../../test/support/eventually.ts';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { buildTestAgent, createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

const ALLOWED = process.env.CI === 'true' || process.env.NANOBOT_ALLOW_DOCKERD_RESTART === '1';
const ENGINE_WAIT_MS = 120_000;
const run = crypto.randomUUID().slice(0, 8);
let bed: Awaited<ReturnType<typeof createTestBed>> | undefined;
let gateway: TestGateway | undefined;
/** How the running dockerd was started, so it is started again the same way. */
let dockerdArgs: string[] = ['dockerd'];

const engineAnswers = async () => (await capture(['docker', 'info'], { timeoutMs: 10_000 })).code === 0;

async function dockerdPid(): Promise<number | undefined> {
  const found = await capture(['pidof', 'dockerd']);
  const pid = Number(found.stdout.trim().split(/\s+/)[0]);
  return found.code === 0 && pid > 0 ? pid : undefined;
}

/** As .ci/run starts it: in a session of its own, so it outlives this test; its output goes to /tmp/dockerd.log. */
async function startDockerd(): Promise<void> {
  const quoted = dockerdArgs.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  await capture(['sh', '-c', `setsid ${quoted} >>/tmp/dockerd.log 2>&1 </dev/null &`]);
  await eventually(async () => {
    if (!(await engineAnswers())) throw new Error('dockerd did not answer `docker info` after its restart; see /tmp/dockerd.log');
  }, ENGINE_WAIT_MS, 500);
}

/** SIGTERM, as an operator's restart would: dockerd stops its containers, then exits. */
async function restartDockerd(): Promise<void> {
  const pid = await dockerdPid();
  if (pid === undefined) throw new Error('no dockerd process to restart');
  dockerdArgs = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  await eventually(() => {
    if (existsSync(`/proc/${pid}`)) throw new Error(`dockerd (pid ${pid}) did not exit within ${ENGINE_WAIT_MS} ms of SIGTERM`);
  }, ENGINE_WAIT_MS, 200);
  await startDockerd();
}

beforeAll(async () => {
  if (!ALLOWED) {
    throw new Error('This test restarts dockerd, which stops every container on the engine: it runs only with CI=true or NANOBOT_ALLOW_DOCKERD_RESTART=1 (`bun run test` sets it).');
  }
  bed = await createTestBed();
  await buildTestAgent();
  gateway = await startTestGateway(bed.env);
}, 300_000);

afterAll(async () => {
  // Whatever happened above, the engine is left running for everyone else.
  if (ALLOWED && !(await engineAnswers()) && (await dockerdPid()) === undefined) await startDockerd();
  await gateway?.stop();
  await bed?.cleanup();
}, ENGINE_WAIT_MS + 60_000);

test('after a dockerd restart the gateway follows the engine again and serves old and new students without a restart', async () => {
  const { url, routes } = gateway!;
  const files = (user: string) => fetch(`${url}/files`, { headers: authHeaders(user) });
  const before = `before.${run}@example.com`;
  expect((await files(before)).status).toBe(200);

  await restartDockerd();

  // The student from before: their agent stopped with the engine and is started again by this request.
  await eventually(async () => expect((await files(before)).status).toBe(200), 60_000, 500);
  const after = `after.${run}@example.com`;
  expect((await files(after)).status).toBe(200);
  for (const user of [before, after]) {
    const own = await bed!.containers([`${LABELS.userId}=${identityFor(user, bed!.instance).id}`]);
    expect(own.map((c) => c.State)).toEqual(['running']);
  }

  // The events stream is followed again: a stop made behind the gateway's back reaches its route table.
  const { id, containerName } = identityFor(after, bed!.instance);
  expect(routes.get(id)).toBeDefined();
  await bed!.docker.getContainer(containerName).stop({ t: 1 });
  await eventually(() => expect(routes.get(id)).toBeUndefined(), 20_000, 50);
  expect((await files(after)).status).toBe(200);
}, ENGINE_WAIT_MS * 2 + 120_000);
