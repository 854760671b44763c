/**
 * The agent lifecycle against the real Docker Engine with second-scale timeouts: culling, the
 * spawn and active limits, the progress events, and stop/remove touching only this instance's agents.
 * It also backs the fake runtime of the unit tests (fake-runtime.ts) with the real behaviour.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { identityFor } from '../src/identity.ts';
import { LABELS, instanceLabelFilters } from '../src/runtime/labels.ts';
import { DockerRuntime } from '../src/runtime/docker.ts';
import { eventually } from '../../test/support/eventually.ts';
import { buildTestAgent, createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders, testSettings } from './helpers.ts';

type Echo = { path: string; marker: string | null };

let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway | undefined;
const run = crypto.randomUUID().slice(0, 8);
const email = (name: string) => `${name}.${run}@example.com`;

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
}, 300_000);

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

afterAll(async () => {
  await bed?.cleanup();
}, 120_000);

async function start(env: Record<string, string>) {
  gateway = await startTestGateway({ ...bed.env, ...env });
  return gateway;
}

const call = (gw: TestGateway, path: string, user: string, init: RequestInit = {}, extra: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { ...init, headers: authHeaders(user, extra) });

async function containerOf(user: string) {
  const found = await bed.containers([`${LABELS.userId}=${identityFor(user).id}`]);
  expect(found).toHaveLength(1);
  return bed.docker.getContainer(found[0]!.Id).inspect();
}

/** The `data:` states of an SSE answer, read until it ends. */
async function statesOf(res: Response): Promise<Record<string, unknown>[]> {
  return (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
}

describe('idle culling', () => {
  test('an idle agent is stopped, not removed, and the next request starts it again with its data', async () => {
    const gw = await start({ IDLE_TIMEOUT: '2s' });
    const user = email('idle');
    const first = await call(gw, '/memory', user, {}, { 'x-test-write': 'kept across the stop' });
    expect(first.status).toBe(200);
    const { Id } = await containerOf(user);
    await eventually(async () => expect((await containerOf(user)).State.Running).toBe(false), 20_000, 200);
    expect(await (await call(gw, '/agent', user)).json()).toEqual({ state: 'stopped' });
    const again = await call(gw, '/memory', user);
    expect(again.status).toBe(200);
    expect(((await again.json()) as Echo).marker).toBe('kept across the stop');
    const info = await containerOf(user);
    expect(info.Id).toBe(Id);
    expect(info.State.Running).toBe(true);
  }, 60_000);

  test('a streaming answer longer than the idle timeout is not cut, and the agent stops once it has ended', async () => {
    const gw = await start({ IDLE_TIMEOUT: '1s' });
    const user = email('stream');
    await call(gw, '/health', user);
    // 12 events 300 ms apart: about 3.6 s, over three idle timeouts.
    const res = await call(gw, '/chat', user, { method: 'POST', body: '{}' }, { 'x-test-mode': 'sse', 'x-test-events': '12' });
    expect(res.status).toBe(200);
    const events = (await res.text()).split('\n').filter((l) => l.startsWith('data: '));
    expect(events).toHaveLength(12);
    expect(existsSync(join(bed.dataDir, identityFor(user).id, 'sse-cancelled'))).toBe(false);
    await eventually(async () => expect((await containerOf(user)).State.Running).toBe(false), 20_000, 200);
  }, 60_000);

  test('a stopped container unused for REMOVE_AFTER is removed, its data folder kept', async () => {
    const gw = await start({ IDLE_TIMEOUT: '1s', REMOVE_AFTER: '3s' });
    const user = email('remove');
    expect((await call(gw, '/memory', user, {}, { 'x-test-write': 'still here' })).status).toBe(200);
    await eventually(async () => expect(await bed.containers([`${LABELS.userId}=${identityFor(user).id}`])).toHaveLength(0), 30_000, 250);
    expect(await Bun.file(join(bed.dataDir, identityFor(user).id, 'marker.txt')).text()).toBe('still here');
    const back = await call(gw, '/memory', user);
    expect(((await back.json()) as Echo).marker).toBe('still here');
  }, 60_000);

  test('a request arriving while its agent is being stopped waits and is served by the restarted agent', async () => {
    const gw = await start({ IDLE_TIMEOUT: '0' });
    const user = email('stopping');
    expect((await call(gw, '/memory', user, {}, { 'x-test-write': 'served' })).status).toBe(200);
    const id = identityFor(user).id;
    const agent = gw.routes.get(id)!;
    const stopped = gw.lifecycle.stop(id, agent.instanceId);
    const during = await call(gw, '/memory', user);
    expect(await stopped).toBe(true);
    expect(during.status).toBe(200);
    expect(((await during.json()) as Echo).marker).toBe('served');
  }, 60_000);
});

describe('limits', () => {
  test('30 first requests from 30 users with MAX_CONCURRENT_SPAWNS=4 are all served, never more than 4 starts at once', async () => {
    const gw = await start({ MAX_CONCURRENT_SPAWNS: '4', IDLE_TIMEOUT: '0', START_TIMEOUT_MS: '60000', UPSTREAM_TIMEOUT_MS: '60000', UPSTREAM_QUICK_TIMEOUT: '60s' });
    const users = Array.from({ length: 30 }, (_, i) => email(`crowd${i}`));
    const since = Math.floor(Date.now() / 1_000) - 1;
    // The gateway's own view: when each start began and when its agent answered /health.
    const running = new Map<string, number>();
    let starting = 0;
    let mostStarting = 0;
    for (const user of users) {
      const id = identityFor(user).id;
      let counted = false;
      gw.lifecycle.watch(id, ({ state }) => {
        if (state === 'creating' && !counted) {
          counted = true;
          mostStarting = Math.max(mostStarting, (starting += 1));
        }
        if (state === 'running' || state === 'failed') {
          if (counted) starting -= 1;
          running.set(id, Date.now());
        }
      });
    }
    const answers = await Promise.all(users.map((user) => call(gw, '/memory', user)));
    expect(answers.map((r) => r.status)).toEqual(users.map(() => 200));
    expect(mostStarting).toBeLessThanOrEqual(4);

    // The engine's view: each agent's create and start, ended by its health (the gateway's running).
    const until = Math.ceil(Date.now() / 1_000) + 1;
    const stream = await bed.docker.getEvents({ since, until, filters: { type: ['container'], event: ['create', 'start'], label: instanceLabelFilters(bed.instance) } });
    const created = new Map<string, number>();
    const startedAt = new Map<string, number>();
    let text = '';
    for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { Action: string; timeNano: number; Actor: { Attributes: Record<string, string> } };
      const id = event.Actor.Attributes[LABELS.userId]!;
      (event.Action === 'create' ? created : startedAt).set(id, event.timeNano / 1e6);
    }
    const spans = users.map((user) => {
      const id = identityFor(user).id;
      const span = { from: created.get(id)!, start: startedAt.get(id)!, to: running.get(id)! };
      expect(span.from).toBeLessThanOrEqual(span.start);
      expect(span.start).toBeLessThanOrEqual(span.to);
      return span;
    });
    const edges = spans.flatMap((s) => [{ at: s.from, step: 1 }, { at: s.to, step: -1 }]).sort((a, b) => a.at - b.at || a.step - b.step);
    let overlap = 0;
    let most = 0;
    for (const edge of edges) most = Math.max(most, (overlap += edge.step));
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2);
    for (const { Id } of await bed.containers()) await bed.docker.getContainer(Id).remove({ force: true });
  }, 240_000);

  test('at MAX_ACTIVE_AGENTS the least recently used idle agent is stopped to make room', async () => {
    const gw = await start({ MAX_ACTIVE_AGENTS: '2', IDLE_TIMEOUT: '0' });
    const [a, b, c] = [email('lru-a'), email('lru-b'), email('lru-c')];
    expect((await call(gw, '/memory', a)).status).toBe(200);
    expect((await call(gw, '/memory', b)).status).toBe(200);
    expect((await call(gw, '/memory', a)).status).toBe(200);
    expect((await call(gw, '/memory', c)).status).toBe(200);
    expect((await containerOf(b)).State.Running).toBe(false);
    expect((await containerOf(a)).State.Running).toBe(true);
    expect((await containerOf(c)).State.Running).toBe(true);
    for (const user of [a, b, c]) await bed.docker.getContainer((await containerOf(user)).Id).remove({ force: true });
  }, 60_000);

  test('a full spawn queue answers 429 JSON with Retry-After', async () => {
    const gw = await start({ MAX_CONCURRENT_SPAWNS: '1', MAX_SPAWN_QUEUE: '1', START_TIMEOUT_MS: '4000', IDLE_TIMEOUT: '0' });
    const [slow, waiting, refused] = [email('q-slow'), email('q-wait'), email('q-refused')];
    // An agent that never answers /health holds the only slot until START_TIMEOUT_MS.
    await mkdir(join(bed.dataDir, identityFor(slow).id), { recursive: true });
    await writeFile(join(bed.dataDir, identityFor(slow).id, 'never-healthy'), '');
    const holding = call(gw, '/memory', slow);
    await eventually(async () => expect(((await (await call(gw, '/agent', slow)).json()) as { state: string }).state).toBe('waiting_for_health'), 10_000, 50);
    const queued = call(gw, '/memory', waiting);
    await eventually(async () => expect(await (await call(gw, '/agent', waiting)).json()).toEqual({ state: 'queued', position: 1 }), 5_000, 20);
    const res = await call(gw, '/memory', refused);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ code: 'spawn_queue_full' });
    expect((await call(gw, '/agent/start', refused, { method: 'POST' })).status).toBe(429);
    expect((await holding).status).toBe(504);
    expect(await (await call(gw, '/agent', slow)).json()).toMatchObject({ state: 'failed', reason: 'agent_start_timeout' });
    expect((await queued).status).toBe(200);
  }, 60_000);
});

describe('spawn progress', () => {
  test('the events stream shows each state in order, for a new agent and for a stopped one', async () => {
    const gw = await start({ IDLE_TIMEOUT: '0' });
    const user = email('progress');
    const events = call(gw, '/agent/events', user, { headers: { accept: 'text/event-stream' } });
    const first = await events;
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    const states = statesOf(first);
    await Bun.sleep(100);
    expect((await call(gw, '/agent/start', user, { method: 'POST' })).status).toBe(202);
    expect((await states).map((s) => s.state)).toEqual(['absent', 'creating', 'starting', 'waiting_for_health', 'running']);

    const id = identityFor(user).id;
    await gw.lifecycle.stop(id, gw.routes.get(id)!.instanceId);
    const again = statesOf(await call(gw, '/agent/events', user));
    await Bun.sleep(100);
    await call(gw, '/agent/start', user, { method: 'POST' });
    expect((await again).map((s) => s.state)).toEqual(['stopped', 'starting', 'waiting_for_health', 'running']);
  }, 60_000);
});

describe('stop and remove on the Docker runtime', () => {
  test('touch only agents of their own instance, and remove never a running one', async () => {
    const gw = await start({ IDLE_TIMEOUT: '0' });
    const user = email('own');
    expect((await call(gw, '/memory', user)).status).toBe(200);
    const { Id } = await containerOf(user);
    const stranger = new DockerRuntime(bed.docker, testSettings({ ...bed.env, GATEWAY_INSTANCE: bed.instanceNamed('other') }).agents);
    await stranger.stop(Id);
    await stranger.remove(Id);
    expect((await containerOf(user)).State.Running).toBe(true);
    const own = new DockerRuntime(bed.docker, gw.settings.agents);
    await own.remove(Id);
    expect((await containerOf(user)).State.Running).toBe(true);
    await own.stop(Id);
    expect((await containerOf(user)).State.Running).toBe(false);
    expect(await own.find(identityFor(user, gw.settings.agents.instance))).toMatchObject({ instanceId: Id, running: false });
    await own.remove(Id);
    expect(await bed.containers([`${LABELS.userId}=${identityFor(user).id}`])).toHaveLength(0);
    expect(await own.find(identityFor(user, gw.settings.agents.instance))).toBeUndefined();
  }, 60_000);
});
