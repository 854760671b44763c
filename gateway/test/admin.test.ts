/** The admin API through the whole chain, with the lifecycle's fake runtime and a fake inspector over it. */
import { afterAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DELETED_DIR, moveToDeleted, purgeDeleted } from '../src/admin/deleted.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { identityFor } from '../src/identity.ts';
import { UsageStore } from '../src/relay/store.ts';
import type { AgentInspector } from '../src/runtime/types.ts';
import { fakeRuntime, healthyFetch } from './fake-runtime.ts';
import { authHeaders, testSettings, trustingUsers } from './helpers.ts';

const ADMIN = 'admin-token-for-the-tests';
const METRICS = 'metrics-token-for-the-tests';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function gateway() {
  const dataDir = mkdtempSync(join(tmpdir(), 'nbtest-admin-'));
  dirs.push(dataDir);
  const fake = fakeRuntime();
  const emails = new Map<string, string>();
  let cpu = 0;
  const inspector: AgentInspector = {
    async engine() {
      return { reachable: true, image: 'nanobot-tutor', imagePresent: true };
    },
    async details(userId) {
      return [...fake.containers.values()]
        .filter((c) => userId === undefined || c.userId === userId)
        .map((c) => ({
          userId: c.userId,
          email: emails.get(c.userId) ?? '',
          instanceId: c.instanceId,
          status: c.running ? 'running' : 'exited',
          running: c.running,
          image: 'nanobot-tutor',
          outdated: false,
          createdAt: '2026-11-25T10:00:00Z',
          startedAt: '2026-11-25T10:00:01Z',
          finishedAt: undefined,
          exitCode: undefined,
          oomKilled: false,
          restarts: 0,
        }));
    },
    async usage() {
      cpu += 1e9;
      return { memoryBytes: 50_000_000, memoryLimitBytes: 1 << 30, cpuNs: cpu / 4, systemCpuNs: cpu, cpus: 2 };
    },
    async logTail() {
      return ['started', 'listening on 8000'];
    },
  };
  const settings = testSettings({ ADMIN_TOKEN: ADMIN, METRICS_TOKEN: METRICS, DATA_DIR: dataDir });
  const usage = new UsageStore(join(dataDir, '.state', 'usage.db'));
  const app = createApp({ settings, runtime: fake.runtime, users: trustingUsers(), routes: new RouteTable(), fetch: healthyFetch, inspector, usage, log: () => {} });
  /** A student who has used their tutor once. */
  async function student(email: string) {
    const { id } = identityFor(email);
    emails.set(id, email);
    mkdirSync(join(dataDir, id), { recursive: true });
    writeFileSync(join(dataDir, id, 'notes.md'), `notes of ${email}`);
    const res = await app.request('/memory', { headers: authHeaders(email) });
    expect(res.status).toBe(200);
    await res.text();
    return id;
  }
  const admin = (path: string, init: RequestInit = {}) => app.request(path, { ...init, headers: { Authorization: `Bearer ${ADMIN}` } });
  return { ...fake, app, dataDir, student, admin };
}

test('the admin API takes ADMIN_TOKEN only; bad ids are a 400, unknown ones a 404, both JSON', async () => {
  const { app, admin } = gateway();
  expect((await app.request('/admin/agents')).status).toBe(401);
  expect((await app.request('/admin/agents', { headers: authHeaders('a@example.com') })).status).toBe(401);
  // METRICS_TOKEN opens /metrics and nothing else.
  expect((await app.request('/metrics', { headers: { Authorization: `Bearer ${METRICS}` } })).status).toBe(200);
  for (const path of ['/admin/agents', '/admin/llm']) expect((await app.request(path, { headers: { Authorization: `Bearer ${METRICS}` } })).status).toBe(401);
  expect((await app.request('/admin/users/a-0123456789?confirm=a-0123456789', { method: 'DELETE', headers: { Authorization: `Bearer ${METRICS}` } })).status).toBe(401);
  expect((await admin('/admin/agents')).status).toBe(200);
  for (const bad of ['x', '.state', 'a%20b-0123456789', 'ALICE-0123456789', 'a-012345678g']) {
    const res = await admin(`/admin/agents/${bad}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('bad_user_id');
  }
  const res = await admin('/admin/agents/nobody_example_com-0123456789');
  expect(res.status).toBe(404);
  expect(((await res.json()) as { code: string }).code).toBe('unknown_agent');
});

test('an admin call that no admin route takes is a JSON 404, not a refusal of the gateway token', async () => {
  const { app, admin } = gateway();
  for (const [method, path] of [['PUT', '/admin/agents'], ['POST', '/admin/llm'], ['GET', '/admin/students/invite'], ['GET', '/admin/nothing'], ['GET', '/admin']]) {
    const res = await admin(path!, { method });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('not_found');
  }
  const stranger = await app.request('/admin/nothing', { headers: authHeaders('a@example.com') });
  expect(stranger.status).toBe(401);
  expect(((await stranger.json()) as { error: string }).error).toContain('ADMIN_TOKEN');
});

test('/admin/usage refuses like every admin route: a JSON 401 naming ADMIN_TOKEN, with WWW-Authenticate', async () => {
  const { app, admin } = gateway();
  expect((await admin('/admin/usage')).status).toBe(200);
  const refusal = async (path: string, authorization: string | undefined) => {
    const res = await app.request(path, { headers: authorization === undefined ? {} : { Authorization: authorization } });
    const { error, code } = (await res.json()) as { error: string; code: string };
    return { status: res.status, challenge: res.headers.get('www-authenticate'), error, code };
  };
  for (const authorization of [undefined, 'Bearer a b', 'Bearer wrong-token-0123456789', `Bearer ${METRICS}`, 'Basic YTpi']) {
    const usage = await refusal('/admin/usage', authorization);
    expect(usage).toEqual(await refusal('/admin/agents', authorization));
    expect(usage).toMatchObject({ status: 401, challenge: 'Bearer', code: 'unauthorized' });
    expect(usage.error).toContain('ADMIN_TOKEN');
  }
});

test('GET /admin/agents lists state, activity, memory and CPU since the last listing', async () => {
  const { admin, student } = gateway();
  const id = await student('ada@example.com');
  type Listed = { agents: Array<Record<string, unknown>> };
  const first = (await (await admin('/admin/agents')).json()) as Listed;
  expect(first.agents).toHaveLength(1);
  expect(first.agents[0]).toMatchObject({ userId: id, email: 'ada@example.com', state: 'running', image: 'nanobot-tutor', outdated: false, memoryBytes: 50_000_000, cpuPercent: null, restarts: 0, lastFailure: null, requestsInFlight: 0 });
  expect(Date.parse(String(first.agents[0]?.lastActivity))).toBeGreaterThan(Date.now() - 60_000);
  const second = (await (await admin('/admin/agents')).json()) as Listed;
  expect(second.agents[0]?.cpuPercent).toBe(50);
  const detail = (await (await admin(`/admin/agents/${id}`)).json()) as { agent: { userId: string }; log: string[] };
  expect(detail.agent.userId).toBe(id);
  expect(detail.log).toEqual(['started', 'listening on 8000']);
});

test('stop, restart and remove act on the agent and keep its data', async () => {
  const { admin, student, containers, dataDir } = gateway();
  const id = await student('bo@example.com');
  const stopped = await admin(`/admin/agents/${id}/stop`, { method: 'POST' });
  expect(stopped.status).toBe(200);
  expect(containers.get(id)?.running).toBe(false);
  const restarted = await admin(`/admin/agents/${id}/restart`, { method: 'POST' });
  expect(restarted.status).toBe(202);
  await Bun.sleep(10);
  expect(containers.get(id)?.running).toBe(true);
  const removed = await admin(`/admin/agents/${id}`, { method: 'DELETE' });
  expect(await removed.json()).toEqual({ userId: id, removed: true, dataKept: true });
  expect(containers.has(id)).toBe(false);
  expect(readFileSync(join(dataDir, id, 'notes.md'), 'utf8')).toBe('notes of bo@example.com');
});

test('deleting a student needs ?confirm=<id>, removes the agent and moves the folder aside', async () => {
  const { admin, student, containers, dataDir } = gateway();
  const id = await student('cy@example.com');
  for (const query of ['', '?confirm=', `?confirm=${id}x`, '?confirm=someone_else-0123456789']) {
    const res = await admin(`/admin/users/${id}${query}`, { method: 'DELETE' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('confirmation_required');
  }
  expect(containers.has(id)).toBe(true);
  const res = await admin(`/admin/users/${id}?confirm=${id}`, { method: 'DELETE' });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { dataMovedTo: string; containerRemoved: boolean };
  expect(body.containerRemoved).toBe(true);
  expect(body.dataMovedTo).toMatch(new RegExp(`^\\.deleted/${id}-\\d{8}T\\d{9}Z$`));
  expect(containers.has(id)).toBe(false);
  expect(existsSync(join(dataDir, id))).toBe(false);
  expect(readFileSync(join(dataDir, body.dataMovedTo, 'notes.md'), 'utf8')).toBe('notes of cy@example.com');
  expect((await admin(`/admin/users/${id}?confirm=${id}`, { method: 'DELETE' })).status).toBe(404);
});

test('deleted folders are purged after the retention, and nothing else in .deleted is touched', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nbtest-purge-'));
  dirs.push(dataDir);
  for (const id of ['old-0123456789', 'new-0123456789']) mkdirSync(join(dataDir, id));
  const day = 86_400_000;
  const now = Date.parse('2026-11-25T12:00:00Z');
  await moveToDeleted(dataDir, 'old-0123456789', new Date(now - 8 * day));
  await moveToDeleted(dataDir, 'new-0123456789', new Date(now - 6 * day));
  mkdirSync(join(dataDir, DELETED_DIR, 'put-here-by-hand'));
  expect(await purgeDeleted(dataDir, 7 * day, () => {}, now)).toBe(1);
  expect(readdirSync(join(dataDir, DELETED_DIR)).sort()).toEqual(['new-0123456789-20261119T120000000Z', 'put-here-by-hand']);
  expect(await purgeDeleted(dataDir, 0, () => {}, now + 100 * day)).toBe(0);
});

test('an agent busy answering is stopped too, and the next request starts it again', async () => {
  const { app, admin, student, containers } = gateway();
  const id = await student('di@example.com');
  const busy = await app.request('/memory', { headers: authHeaders('di@example.com') });
  // The body is not read yet: the request is in flight.
  expect((await (await admin(`/admin/agents/${id}/stop`, { method: 'POST' })).json())).toEqual({ userId: id, state: 'stopped' });
  expect(containers.get(id)?.running).toBe(false);
  await busy.text();
  const again = await app.request('/memory', { headers: authHeaders('di@example.com') });
  expect(again.status).toBe(200);
  expect(containers.get(id)?.running).toBe(true);
});

/** Holds the fake runtime's next stops until `release`; `began` resolves when one has begun (the route is gone by then). */
function holdStops(hooks: ReturnType<typeof fakeRuntime>['hooks']) {
  const began = Promise.withResolvers<void>();
  const held = Promise.withResolvers<void>();
  hooks.beforeStop = () => (began.resolve(), held.promise);
  return { began: began.promise, release: () => held.resolve() };
}

test('a request arriving while an admin stops a busy agent waits for the stop, then starts the agent again', async () => {
  const { app, admin, student, containers, hooks } = gateway();
  const id = await student('el@example.com');
  const busy = await app.request('/memory', { headers: authHeaders('el@example.com') });
  const stop = holdStops(hooks);
  const stopping = admin(`/admin/agents/${id}/stop`, { method: 'POST' });
  await stop.began;
  let answered = false;
  const meanwhile = Promise.resolve(app.request('/memory', { headers: authHeaders('el@example.com') })).then((res) => ((answered = true), res));
  await Bun.sleep(20);
  expect(answered).toBe(false);
  stop.release();
  expect((await stopping).status).toBe(200);
  expect((await meanwhile).status).toBe(200);
  expect(containers.get(id)?.running).toBe(true);
  await busy.text();
});

test('removing a busy agent: requests meanwhile wait, then get a new container; nothing is left half removed', async () => {
  const { app, admin, student, containers, hooks, calls } = gateway();
  const id = await student('flo@example.com');
  const before = containers.get(id)!.instanceId;
  const busy = await app.request('/memory', { headers: authHeaders('flo@example.com') });
  const stop = holdStops(hooks);
  const removing = admin(`/admin/agents/${id}`, { method: 'DELETE' });
  await stop.began;
  const meanwhile = app.request('/memory', { headers: authHeaders('flo@example.com') });
  await Bun.sleep(20);
  stop.release();
  expect(await (await removing).json()).toEqual({ userId: id, removed: true, dataKept: true });
  expect((await meanwhile).status).toBe(200);
  // Removed while nothing could start it, then made anew for the waiting request.
  expect(calls.filter((call) => call.startsWith('remove') || call.startsWith(`ensure ${id}`)).slice(-2)).toEqual([`remove ${before}`, `ensure ${id}`]);
  expect(containers.get(id)).toMatchObject({ running: true });
  expect(containers.get(id)!.instanceId).not.toBe(before);
  await busy.text();
});

test('deleting a busy student: a request meanwhile waits, and its agent starts only once the folder is moved aside', async () => {
  const { app, admin, student, hooks, dataDir } = gateway();
  const id = await student('hal@example.com');
  const busy = await app.request('/memory', { headers: authHeaders('hal@example.com') });
  const stop = holdStops(hooks);
  const folderAtStart: boolean[] = [];
  hooks.beforeStart = async () => void folderAtStart.push(existsSync(join(dataDir, id)));
  const deleting = admin(`/admin/users/${id}?confirm=${id}`, { method: 'DELETE' });
  await stop.began;
  const meanwhile = app.request('/memory', { headers: authHeaders('hal@example.com') });
  await Bun.sleep(20);
  stop.release();
  expect(((await (await deleting).json()) as { containerRemoved: boolean }).containerRemoved).toBe(true);
  expect((await meanwhile).status).toBe(200);
  expect(folderAtStart).toEqual([false]);
  await busy.text();
});

test('an admin stop queued behind a removal stops the container the waiting request made, not the removed one', async () => {
  const { app, admin, student, containers, hooks } = gateway();
  const id = await student('zed@example.com');
  const first = containers.get(id)!.instanceId;
  const stop = holdStops(hooks);
  const removing = admin(`/admin/agents/${id}`, { method: 'DELETE' });
  await stop.began;
  // The student's request waits for the removal, then makes a new container; the second admin call
  // listed the first one and waits behind both.
  const meanwhile = app.request('/memory', { headers: authHeaders('zed@example.com') });
  await Bun.sleep(20);
  const stopping = admin(`/admin/agents/${id}/stop`, { method: 'POST' });
  await Bun.sleep(20);
  hooks.beforeStop = async () => {};
  stop.release();
  expect((await removing).status).toBe(200);
  expect((await meanwhile).status).toBe(200);
  expect(await (await stopping).json()).toEqual({ userId: id, state: 'stopped' });
  const now = containers.get(id)!;
  expect(now.instanceId).not.toBe(first);
  expect(now.running).toBe(false);
});

test('restarting a busy agent ends with it running, its requests served and no failure recorded', async () => {
  const { app, admin, student, containers } = gateway();
  const id = await student('gus@example.com');
  const busy = await app.request('/memory', { headers: authHeaders('gus@example.com') });
  const restarting = admin(`/admin/agents/${id}/restart`, { method: 'POST' });
  const meanwhile = app.request('/memory', { headers: authHeaders('gus@example.com') });
  expect((await restarting).status).toBe(202);
  expect((await meanwhile).status).toBe(200);
  await busy.text();
  await Bun.sleep(10);
  expect(containers.get(id)?.running).toBe(true);
  const [agent] = ((await (await admin('/admin/agents')).json()) as { agents: { state: string; lastFailure: unknown }[] }).agents;
  expect(agent).toMatchObject({ state: 'running', lastFailure: null });
});

test('GET /admin/health says whether the engine answers, the image is there and how much disk is free', async () => {
  const { admin } = gateway();
  const health = (await (await admin('/admin/health')).json()) as { engine: unknown; disk: { path: string; freeBytes: number; totalBytes: number } };
  expect(health.engine).toEqual({ reachable: true, image: 'nanobot-tutor', imagePresent: true });
  expect(health.disk.path).toBe('data/');
  expect(health.disk.freeBytes).toBeGreaterThan(0);
  expect(health.disk.totalBytes).toBeGreaterThanOrEqual(health.disk.freeBytes);
});

test('GET /admin/users/:id/files lists the workspace from disk (names, sizes, times), not following links', async () => {
  const { admin, student, dataDir } = gateway();
  const id = await student('fa@example.com');
  mkdirSync(join(dataDir, id, 'workspace', 'files_uploaded'), { recursive: true });
  mkdirSync(join(dataDir, id, 'workspace', 'notes'), { recursive: true });
  writeFileSync(join(dataDir, id, 'workspace', 'files_uploaded', 'essay.pdf'), 'x'.repeat(42));
  writeFileSync(join(dataDir, id, 'workspace', 'notes', 'plan.md'), '# plan');
  symlinkSync('/etc', join(dataDir, id, 'workspace', 'notes', 'elsewhere'));
  const res = await admin(`/admin/users/${id}/files`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { userId: string; truncated: boolean; files: { path: string; bytes: number; modifiedAt: string }[] };
  expect(body.userId).toBe(id);
  expect(body.truncated).toBe(false);
  expect(body.files.map((f) => [f.path, f.bytes])).toEqual([['files_uploaded/essay.pdf', 42], ['notes/plan.md', 6]]);
  expect(Date.parse(body.files[0]!.modifiedAt)).toBeGreaterThan(Date.now() - 60_000);
  expect((await admin('/admin/users/nobody_example_com-0123456789/files')).status).toBe(404);
  expect((await admin('/admin/users/..%2Fetc/files')).status).toBe(400);
});
