/**
 * Issue 17: a hung agent is stopped by the gateway itself (agents/hung.ts), with a fake runtime, a
 * scripted `/health` and a fake clock: the rule (unanswered for HUNG_AGENT_RESTART_AFTER and at
 * least three checks in a row), never a busy or paused agent, whatever is in flight.
 */
import { describe, expect, test } from 'bun:test';
import { Activity } from '../src/agents/activity.ts';
import { checkInterval, HUNG_GRACE_SECONDS, HungWatch, isHung, MIN_FAILED_CHECKS } from '../src/agents/hung.ts';
import { Lifecycle } from '../src/agents/lifecycle.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { identityFor } from '../src/identity.ts';
import type { LogLine } from '../src/log.ts';
import { fakeRuntime, healthyFetch } from './fake-runtime.ts';
import { testSettings } from './helpers.ts';

const RESTART_AFTER_MS = 60_000;

/** `/health` per agent host: 'ok', 'busy' (an HTTP 503, still an answer) or 'silent' (no answer in time). */
type Health = 'ok' | 'busy' | 'silent';

async function setup() {
  let now = 1_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const fake = fakeRuntime();
  const stops: { instanceId: string; graceSeconds: number | undefined }[] = [];
  const stop = fake.runtime.stop;
  fake.runtime.stop = async (instanceId, graceSeconds) => {
    stops.push({ instanceId, graceSeconds });
    await stop(instanceId);
  };
  const routes = new RouteTable();
  const activity = new Activity(clock.now);
  const lifecycle = new Lifecycle({ runtime: fake.runtime, routes, activity, settings: testSettings().lifecycle, startTimeoutMs: 1_000, fetch: healthyFetch });
  const health = new Map<string, Health>();
  const checkFetch = (async (url: string) => {
    const state = health.get(new URL(url).hostname) ?? 'ok';
    if (state === 'silent') throw new DOMException('The operation timed out.', 'TimeoutError');
    return Response.json({ status: state }, { status: state === 'ok' ? 200 : 503 });
  }) as unknown as typeof fetch;
  const lines: LogLine[] = [];
  let restarts = 0;
  const watch = new HungWatch({
    routes,
    lifecycle,
    policy: { restartAfterMs: RESTART_AFTER_MS, checkTimeoutMs: 100 },
    fetch: checkFetch,
    clock: clock.now,
    log: (line) => lines.push(line),
    onRestart: () => (restarts += 1),
  });
  const start = async (name: string) => {
    const agent = await lifecycle.ensure(identityFor(`${name}@example.com`));
    return { ...agent, host: new URL(agent.url).hostname };
  };
  /** One check round every interval, for `ms` of fake time. */
  const run = async (ms: number) => {
    for (let passed = 0; passed < ms; passed += checkInterval(RESTART_AFTER_MS)) {
      await watch.check();
      clock.advance(checkInterval(RESTART_AFTER_MS));
    }
  };
  return { ...fake, routes, activity, lifecycle, health, clock, watch, lines, stops, start, run, restarts: () => restarts };
}

describe('the rule', () => {
  test('hung only when unanswered for the whole period and at least three checks in a row', () => {
    expect(isHung({ since: 0, failed: MIN_FAILED_CHECKS }, RESTART_AFTER_MS, RESTART_AFTER_MS)).toBe(true);
    expect(isHung({ since: 0, failed: MIN_FAILED_CHECKS }, RESTART_AFTER_MS - 1, RESTART_AFTER_MS)).toBe(false);
    expect(isHung({ since: 0, failed: MIN_FAILED_CHECKS - 1 }, 10 * RESTART_AFTER_MS, RESTART_AFTER_MS)).toBe(false);
  });

  test('checks every sixth of the period, between 1 s and 30 s', () => {
    expect(checkInterval(180_000)).toBe(30_000);
    expect(checkInterval(60_000)).toBe(10_000);
    expect(checkInterval(3_000)).toBe(1_000);
    expect(checkInterval(3_600_000)).toBe(30_000);
  });
});

describe('the watch', () => {
  test('an agent silent for HUNG_AGENT_RESTART_AFTER is stopped with a short grace, whatever is in flight, logged once and counted; its next request starts it again', async () => {
    const t = await setup();
    const ada = await t.start('ada');
    const bob = await t.start('bob');
    // A chat stream of ada's that the hang froze: in flight, which culling would respect.
    t.activity.begin(ada.userId);
    t.health.set(ada.host, 'silent');
    await t.run(RESTART_AFTER_MS - 1);
    expect(t.stops).toEqual([]);
    await t.run(checkInterval(RESTART_AFTER_MS) + 1);
    expect(t.stops).toEqual([{ instanceId: ada.instanceId, graceSeconds: HUNG_GRACE_SECONDS }]);
    expect(t.restarts()).toBe(1);
    expect(t.routes.get(ada.userId)).toBeUndefined();
    expect(t.routes.get(bob.userId)).toBeDefined();
    const hung = t.lines.filter((line) => line.event === 'hung_restart');
    expect(hung).toHaveLength(1);
    expect(hung[0]).toMatchObject({ level: 'warn', userId: ada.userId, instanceId: ada.instanceId, failedChecks: 7 });
    expect(JSON.stringify(hung[0])).not.toContain('@');
    // Stopped, not checked any more; the student's next request starts it as after culling.
    await t.run(RESTART_AFTER_MS * 2);
    expect(t.stops).toHaveLength(1);
    t.health.set(ada.host, 'ok');
    expect((await t.lifecycle.ensure(identityFor('ada@example.com'))).instanceId).toBe(ada.instanceId);
  });

  test('an agent that answers, even 503 while it streams an answer, is never stopped; one answer starts the count again', async () => {
    const t = await setup();
    const busy = await t.start('busy');
    const flaky = await t.start('flaky');
    t.health.set(busy.host, 'busy');
    t.health.set(flaky.host, 'silent');
    await t.run(RESTART_AFTER_MS - checkInterval(RESTART_AFTER_MS));
    t.health.set(flaky.host, 'ok');
    await t.run(checkInterval(RESTART_AFTER_MS));
    t.health.set(flaky.host, 'silent');
    await t.run(RESTART_AFTER_MS - checkInterval(RESTART_AFTER_MS));
    expect(t.stops).toEqual([]);
    expect(t.restarts()).toBe(0);
  });

  test('a paused agent is frozen on purpose and never counted, nor is its silence carried past the unpause', async () => {
    const t = await setup();
    const ada = await t.start('ada');
    t.health.set(ada.host, 'silent');
    t.routes.pauses.pause(ada.instanceId);
    await t.run(RESTART_AFTER_MS * 3);
    expect(t.stops).toEqual([]);
    t.routes.pauses.resume(ada.instanceId);
    await t.run(RESTART_AFTER_MS - checkInterval(RESTART_AFTER_MS));
    expect(t.stops).toEqual([]);
  });

  test('an agent not yet seen healthy (starting) is the start\'s to wait for, and a stop under way is left to finish', async () => {
    const t = await setup();
    const ada = await t.start('ada');
    t.routes.set({ userId: 'cy', instanceId: 'c-cy', url: 'http://c-cy.test:8000' });
    t.health.set('c-cy.test', 'silent');
    t.health.set(ada.host, 'silent');
    const held = Promise.withResolvers<void>();
    t.hooks.beforeStop = () => held.promise;
    const culled = t.lifecycle.stop(ada.userId, ada.instanceId);
    await t.run(RESTART_AFTER_MS * 2);
    held.resolve();
    expect(await culled).toBe(true);
    expect(t.stops.map((s) => s.instanceId)).toEqual([ada.instanceId]);
    expect(t.stops[0]!.graceSeconds).toBeUndefined();
  });

  test('HUNG_AGENT_RESTART_AFTER=0 checks nothing', async () => {
    const routes = new RouteTable();
    let checks = 0;
    const watch = new HungWatch({
      routes,
      lifecycle: {} as Lifecycle,
      policy: { restartAfterMs: 0, checkTimeoutMs: 100 },
      fetch: (async () => {
        checks += 1;
        return new Response();
      }) as unknown as typeof fetch,
    });
    routes.setHealthy({ userId: 'ada', instanceId: 'c-ada', url: 'http://c-ada.test:8000' });
    watch.start();
    await Bun.sleep(1_100);
    await watch.close();
    expect(checks).toBe(0);
  });
});
