/** The culler's decision and loop with a fake clock and a fake runtime (lifecycle.docker.test.ts runs it against the engine). */
import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Activity } from '../src/agents/activity.ts';
import { Culler, decideCull, sweepInterval } from '../src/agents/culler.ts';
import { Lifecycle } from '../src/agents/lifecycle.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { identityFor } from '../src/identity.ts';
import type { AgentSummary } from '../src/runtime/types.ts';
import { fakeRuntime, healthyFetch } from './fake-runtime.ts';
import { testSettings } from './helpers.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const policy = { idleTimeoutMs: 30 * MINUTE, removeAfterMs: 7 * DAY };
const summary = (userId: string, running: boolean): AgentSummary => ({ userId, instanceId: `c-${userId}`, outdated: false, running });

describe('decideCull', () => {
  const now = 100 * DAY;
  const last: Record<string, number> = { fresh: now - 29 * MINUTE, stale: now - 30 * MINUTE, old: now - 7 * DAY, recent: now - 6 * DAY };
  const lastActive = (u: string) => last[u]!;

  test('stops running agents unused for the idle timeout and removes stopped ones unused for REMOVE_AFTER', () => {
    const agents = [summary('fresh', true), summary('stale', true), summary('old', false), summary('recent', false)];
    const { stop, remove } = decideCull(agents, now, policy, lastActive, () => true);
    expect(stop.map((a) => a.userId)).toEqual(['stale']);
    expect(remove.map((a) => a.userId)).toEqual(['old']);
  });

  test('leaves agents alone that are busy (a request in flight, a start or stop under way)', () => {
    const { stop, remove } = decideCull([summary('stale', true), summary('old', false)], now, policy, lastActive, () => false);
    expect(stop).toEqual([]);
    expect(remove).toEqual([]);
  });

  test('0 turns either part off', () => {
    const agents = [summary('stale', true), summary('old', false)];
    expect(decideCull(agents, now, { idleTimeoutMs: 0, removeAfterMs: 7 * DAY }, lastActive, () => true).stop).toEqual([]);
    expect(decideCull(agents, now, { idleTimeoutMs: 30 * MINUTE, removeAfterMs: 0 }, lastActive, () => true).remove).toEqual([]);
  });

  test('sweeps a quarter of the shortest period, between 250 ms and a minute', () => {
    expect(sweepInterval(policy)).toBe(MINUTE);
    expect(sweepInterval({ idleTimeoutMs: 2_000, removeAfterMs: 0 })).toBe(500);
    expect(sweepInterval({ idleTimeoutMs: 0, removeAfterMs: 100 })).toBe(250);
    expect(sweepInterval({ idleTimeoutMs: 0, removeAfterMs: 0 })).toBe(MINUTE);
  });
});

describe('the culler', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    dir = await mkdtemp(join(tmpdir(), 'nbtest-culler-'));
    let now = 50 * DAY;
    const clock = { now: () => now, advance: (ms: number) => (now += ms) };
    const fake = fakeRuntime();
    const routes = new RouteTable();
    const activity = new Activity(clock.now);
    const settings = testSettings({ IDLE_TIMEOUT: '30m', REMOVE_AFTER: '7d' });
    const lifecycle = new Lifecycle({ runtime: fake.runtime, routes, activity, settings: settings.lifecycle, startTimeoutMs: 1_000, fetch: healthyFetch });
    const activityFile = join(dir, '.state/activity.json');
    const culler = new Culler({ runtime: fake.runtime, lifecycle, activity, policy: settings.lifecycle, activityFile, clock: clock.now });
    return { ...fake, routes, activity, lifecycle, clock, culler, activityFile };
  }

  test('stops an idle agent, keeps a busy one however long its request lasts, then removes the stopped container', async () => {
    const { lifecycle, activity, clock, culler, containers } = await setup();
    const idle = identityFor('idle@example.com');
    const busy = identityFor('busy@example.com');
    await lifecycle.ensure(idle);
    await lifecycle.ensure(busy);
    const done = activity.begin(busy.id);
    clock.advance(29 * MINUTE);
    await culler.sweep();
    expect(containers.get(idle.id)?.running).toBe(true);
    clock.advance(2 * MINUTE);
    await culler.sweep();
    expect(containers.get(idle.id)?.running).toBe(false);
    clock.advance(3 * 60 * MINUTE);
    await culler.sweep();
    expect(containers.get(busy.id)?.running).toBe(true);
    done();
    clock.advance(7 * DAY);
    await culler.sweep();
    expect(containers.get(idle.id)).toBeUndefined();
    // The busy agent's request ended 7 days ago: stopped on this sweep, removed on a later one.
    expect(containers.get(busy.id)?.running).toBe(false);
    await culler.sweep();
    expect(containers.get(busy.id)).toBeUndefined();
  });

  test('the activity record survives a restart: saved users keep their clock, unknown ones start from the restart', async () => {
    const { activity, clock, culler, activityFile } = await setup();
    activity.touch('seen');
    clock.advance(20 * MINUTE);
    await culler.close();
    const restartedAt = clock.now() + 5 * MINUTE;
    const restarted = new Activity(() => restartedAt);
    await restarted.load(activityFile);
    expect(restarted.lastActive('seen')).toBe(restartedAt - 25 * MINUTE);
    expect(restarted.lastActive('never-seen')).toBe(restartedAt);
  });
});
