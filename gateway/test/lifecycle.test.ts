/** The state machine, the spawn and active limits, with a fake runtime (lifecycle.docker.test.ts runs the same against the engine). */
import { describe, expect, test } from 'bun:test';
import { Activity } from '../src/agents/activity.ts';
import { Lifecycle, type AgentState } from '../src/agents/lifecycle.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { StartBackoff } from '../src/agents/start-backoff.ts';
import { GatewayError } from '../src/errors.ts';
import { identityFor } from '../src/identity.ts';
import { AgentStartError } from '../src/runtime/types.ts';
import { fakeRuntime, healthyFetch } from './fake-runtime.ts';
import { testSettings } from './helpers.ts';

function setup(env: Record<string, string> = {}) {
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const fake = fakeRuntime();
  const routes = new RouteTable();
  const activity = new Activity(clock.now);
  const settings = testSettings(env);
  const lifecycle = new Lifecycle({ runtime: fake.runtime, routes, activity, settings: settings.lifecycle, startTimeoutMs: 1_000, fetch: healthyFetch });
  return { ...fake, routes, activity, lifecycle, clock };
}

const user = (name: string) => identityFor(`${name}@example.com`);

function record(lifecycle: Lifecycle, userId: string) {
  const seen: AgentState[] = [];
  lifecycle.watch(userId, (s) => seen.push(s));
  return seen;
}

describe('the state machine', () => {
  test('a user backed off after failed starts is started at once after forgetFailures (an operator\'s restart)', async () => {
    const fake = fakeRuntime();
    const backoff = new StartBackoff();
    const lifecycle = new Lifecycle({ runtime: fake.runtime, routes: new RouteTable(), activity: new Activity(), settings: testSettings().lifecycle, startTimeoutMs: 1_000, fetch: healthyFetch, backoff });
    const ada = user('ada');
    backoff.fail(ada.id, await fake.runtime.revision(), 'exited with code 1');
    expect(await lifecycle.ensure(ada).catch((err: unknown) => (err as GatewayError).code)).toBe('agent_exited');
    expect(fake.calls).toEqual([]);
    lifecycle.forgetFailures(ada.id);
    await lifecycle.ensure(ada);
    expect(fake.calls).toEqual([`ensure ${ada.id}`]);
  });

  test('a first start goes creating, starting, waiting_for_health, running', async () => {
    const { lifecycle } = setup();
    const ada = user('ada');
    expect(await lifecycle.state(ada)).toEqual({ state: 'absent' });
    const seen = record(lifecycle, ada.id);
    await lifecycle.ensure(ada);
    expect(seen.map((s) => s.state)).toEqual(['creating', 'starting', 'waiting_for_health', 'running']);
    expect(await lifecycle.state(ada)).toEqual({ state: 'running' });
  });

  test('a stop goes stopping, stopped, and the next request starts the same container again', async () => {
    const { lifecycle, routes, calls } = setup();
    const ada = user('ada');
    const first = await lifecycle.ensure(ada);
    const seen = record(lifecycle, ada.id);
    expect(await lifecycle.stop(ada.id, first.instanceId)).toBe(true);
    expect(routes.get(ada.id)).toBeUndefined();
    expect(await lifecycle.state(ada)).toEqual({ state: 'stopped' });
    const again = await lifecycle.ensure(ada);
    expect(again.instanceId).toBe(first.instanceId);
    expect(seen.map((s) => s.state)).toEqual(['stopping', 'stopped', 'starting', 'waiting_for_health', 'running']);
    expect(calls).toEqual([`ensure ${ada.id}`, `stop ${first.instanceId}`, `ensure ${ada.id}`]);
  });

  test('a request arriving while the agent stops waits for the stop and gets the restarted agent', async () => {
    const { lifecycle, hooks } = setup();
    const ada = user('ada');
    const first = await lifecycle.ensure(ada);
    const draining = Promise.withResolvers<void>();
    hooks.beforeStop = () => draining.promise;
    const stopped = lifecycle.stop(ada.id, first.instanceId);
    const request = lifecycle.ensure(ada);
    expect(await lifecycle.state(ada)).toEqual({ state: 'stopping' });
    draining.resolve();
    await stopped;
    expect((await request).instanceId).toBe(first.instanceId);
    expect(await lifecycle.state(ada)).toEqual({ state: 'running' });
  });

  test('an agent with a request in flight is never stopped', async () => {
    const { lifecycle, activity, calls } = setup();
    const ada = user('ada');
    const agent = await lifecycle.ensure(ada);
    const done = activity.begin(ada.id);
    expect(await lifecycle.stop(ada.id, agent.instanceId)).toBe(false);
    done();
    expect(await lifecycle.stop(ada.id, agent.instanceId)).toBe(true);
    expect(calls.filter((c) => c.startsWith('stop'))).toHaveLength(1);
  });

  test('a failed start is the failed state with its reason, and a later start clears it', async () => {
    const { lifecycle, hooks } = setup();
    const ada = user('ada');
    hooks.beforeStart = async () => {
      throw new AgentStartError('The agent image is missing.', 'image_missing');
    };
    const error = await lifecycle.ensure(ada).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(503);
    expect(await lifecycle.state(ada)).toEqual({ state: 'failed', reason: 'image_missing', message: 'The agent image is missing.' });
    hooks.beforeStart = async () => {};
    await lifecycle.ensure(ada);
    expect(await lifecycle.state(ada)).toEqual({ state: 'running' });
  });

  test('fail() lets a runtime report a failure it found on its own', () => {
    const { lifecycle } = setup();
    const seen = record(lifecycle, 'u');
    lifecycle.fail('u', 'agent_exited', 'The agent exited at start.');
    expect(seen).toEqual([{ state: 'failed', reason: 'agent_exited', message: 'The agent exited at start.' }]);
  });
});

describe('MAX_CONCURRENT_SPAWNS and MAX_SPAWN_QUEUE', () => {
  test('starts beyond the limit queue with their position and never overlap more than the limit', async () => {
    const { lifecycle, hooks, stats } = setup({ MAX_CONCURRENT_SPAWNS: '2' });
    const gates = new Map<string, { resolve: () => void }>();
    hooks.beforeStart = (userId) => {
      const gate = Promise.withResolvers<void>();
      gates.set(userId, gate);
      return gate.promise;
    };
    const users = ['a', 'b', 'c', 'd'].map(user);
    const seenByD = record(lifecycle, users[3]!.id);
    const starts = users.map((u) => lifecycle.ensure(u));
    await Bun.sleep(1);
    expect(await lifecycle.state(users[2]!)).toEqual({ state: 'queued', position: 1 });
    expect(await lifecycle.state(users[3]!)).toEqual({ state: 'queued', position: 2 });
    for (const u of users) {
      while (!gates.has(u.id)) await Bun.sleep(1);
      gates.get(u.id)!.resolve();
    }
    await Promise.all(starts);
    expect(stats.maxOverlap).toBe(2);
    expect(seenByD.map((s) => s.state)).toEqual(['queued', 'queued', 'creating', 'starting', 'waiting_for_health', 'running']);
    expect(seenByD.slice(0, 2)).toEqual([{ state: 'queued', position: 2 }, { state: 'queued', position: 1 }]);
  });

  test('a full queue answers 429 with Retry-After, while a user already waiting keeps its place', async () => {
    const { lifecycle, hooks } = setup({ MAX_CONCURRENT_SPAWNS: '1', MAX_SPAWN_QUEUE: '1' });
    const gate = Promise.withResolvers<void>();
    hooks.beforeStart = () => gate.promise;
    const first = lifecycle.ensure(user('a'));
    const waiting = lifecycle.ensure(user('b'));
    await Bun.sleep(1);
    const refused = (await lifecycle.ensure(user('c')).catch((e: unknown) => e)) as GatewayError;
    expect(refused.status).toBe(429);
    expect(refused.code).toBe('spawn_queue_full');
    expect(Number(refused.headers['Retry-After'])).toBeGreaterThan(0);
    expect(() => lifecycle.startInBackground(user('c'))).toThrow(GatewayError);
    // b retries: same place, no refusal.
    lifecycle.startInBackground(user('b'));
    expect(await lifecycle.state(user('b'))).toEqual({ state: 'queued', position: 1 });
    gate.resolve();
    await Promise.all([first, waiting]);
    expect(await lifecycle.state(user('c'))).toEqual({ state: 'absent' });
  });
});

describe('MAX_ACTIVE_AGENTS', () => {
  test('at the limit the least recently used idle agent is stopped to make room', async () => {
    const { lifecycle, activity, clock, containers } = setup({ MAX_ACTIVE_AGENTS: '2' });
    const [a, b, c] = ['a', 'b', 'c'].map(user) as [ReturnType<typeof user>, ReturnType<typeof user>, ReturnType<typeof user>];
    await lifecycle.ensure(a);
    clock.advance(10);
    await lifecycle.ensure(b);
    clock.advance(10);
    activity.touch(a.id); // a used more recently than b
    await lifecycle.ensure(c);
    expect(containers.get(b.id)?.running).toBe(false);
    expect(containers.get(a.id)?.running).toBe(true);
    expect(containers.get(c.id)?.running).toBe(true);
    expect(lifecycle.activeCount()).toBe(2);
  });

  test('a busy agent is never the one stopped; with none idle the answer is 503 with Retry-After', async () => {
    const { lifecycle, activity, containers } = setup({ MAX_ACTIVE_AGENTS: '2' });
    const [a, b, c] = ['a', 'b', 'c'].map(user) as [ReturnType<typeof user>, ReturnType<typeof user>, ReturnType<typeof user>];
    await lifecycle.ensure(a);
    await lifecycle.ensure(b);
    const doneA = activity.begin(a.id);
    const doneB = activity.begin(b.id);
    const refused = (await lifecycle.ensure(c).catch((e: unknown) => e)) as GatewayError;
    expect(refused.status).toBe(503);
    expect(refused.code).toBe('too_many_agents');
    expect(refused.headers['Retry-After']).toBeTruthy();
    expect(containers.get(c.id)).toBeUndefined();
    doneA();
    await lifecycle.ensure(c);
    expect(containers.get(a.id)?.running).toBe(false);
    expect(containers.get(b.id)?.running).toBe(true);
    doneB();
  });

  test('concurrent starts at the limit never run more agents than allowed', async () => {
    const { lifecycle, containers } = setup({ MAX_ACTIVE_AGENTS: '3', MAX_CONCURRENT_SPAWNS: '8' });
    for (const name of ['a', 'b', 'c']) await lifecycle.ensure(user(name));
    await Promise.all(['d', 'e', 'f'].map((name) => lifecycle.ensure(user(name))));
    expect([...containers.values()].filter((c) => c.running)).toHaveLength(3);
  });
});
