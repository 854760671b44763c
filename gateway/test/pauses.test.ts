/**
 * Issue 17 item 6, a paused agent, against a scripted agent on a real socket: the pause (as the route
 * table hears it from the engine) refuses new requests at once with 503 agent_paused, ends a request
 * waiting for headers and a chat stream in flight, leaves other students alone, and unpause serves
 * again; the route table learns pauses from events and adoption scans.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Activity } from '../src/agents/activity.ts';
import { Lifecycle } from '../src/agents/lifecycle.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { identityFor } from '../src/identity.ts';
import { agentPaused, Pauses } from '../src/agents/pauses.ts';
import { AgentStartError, type AgentEvent, type AgentRuntime } from '../src/runtime/types.ts';
import { serve } from '../src/serve.ts';
import { healthyFetch } from './fake-runtime.ts';
import { authHeaders, stubRuntime, testSettings, trustingUsers } from './helpers.ts';

const forever = () => new Promise<never>(() => {});
let agent: ReturnType<typeof Bun.serve>;
let gateway: ReturnType<typeof serve>;
const routes = new RouteTable();
let streamCancelled = Promise.withResolvers<void>();

beforeAll(() => {
  agent = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req, server) {
      server.timeout(req, 0);
      const path = new URL(req.url).pathname;
      if (path === '/memory' && req.headers.get('x-test') === 'hang') return forever();
      if (path !== '/chat') return Response.json({ status: 'ok', path });
      // One event, then nothing: what a frozen agent's stream looks like from outside.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('event: delta\ndata: {"text":"Hel"}\n\n'));
        },
        cancel: () => streamCancelled.resolve(),
      });
      return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
    },
  });
  const runtime: AgentRuntime = {
    ...stubRuntime,
    ensure: async (identity) => ({ userId: identity.id, instanceId: `c-${identity.id}`, url: `http://127.0.0.1:${agent.port}` }),
  };
  // Long deadlines: every answer below must come from the pause, not from a timeout.
  const settings = testSettings({ UPSTREAM_TIMEOUT_MS: '20000', UPSTREAM_QUICK_TIMEOUT: '20s' });
  gateway = serve(createApp({ settings, runtime, users: trustingUsers(), routes, log: () => {} }), { port: 0, hostname: '127.0.0.1' });
});

afterAll(async () => {
  await gateway.stop(true);
  await agent.stop(true);
});

let users = 0;
const newUser = () => `pauses.${(users += 1)}@example.com`;
const instanceOf = (user: string) => `c-${identityFor(user).id}`;
const call = (path: string, user: string, init: RequestInit = {}, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: authHeaders(user, headers) });

async function expectPaused(res: Response) {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('10');
  expect(((await res.json()) as { code: string }).code).toBe('agent_paused');
}

describe('a paused agent', () => {
  test('new requests get 503 agent_paused at once, another student is served, and unpause serves again', async () => {
    const user = newUser();
    const other = newUser();
    expect((await call('/files', user)).status).toBe(200);
    expect((await call('/files', other)).status).toBe(200);
    routes.pauses.pause(instanceOf(user));
    const started = performance.now();
    await expectPaused(await call('/files', user));
    await expectPaused(await call('/chat', user, { method: 'POST', body: '{"message":"hi"}' }));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((await call('/files', other)).status).toBe(200);
    expect(await (await call('/agent', user)).json()).toEqual({ state: 'running', paused: true });
    expect(await (await call('/agent', other)).json()).toEqual({ state: 'running' });
    routes.pauses.resume(instanceOf(user));
    expect((await call('/files', user)).status).toBe(200);
    expect(await (await call('/agent', user)).json()).toEqual({ state: 'running' });
  });

  test('a request waiting for the agent\'s answer when it is paused gets 503 agent_paused at once', async () => {
    const user = newUser();
    expect((await call('/files', user)).status).toBe(200);
    const pending = call('/memory', user, {}, { 'x-test': 'hang' });
    await Bun.sleep(100);
    const started = performance.now();
    routes.pauses.pause(instanceOf(user));
    await expectPaused(await pending);
    expect(performance.now() - started).toBeLessThan(1_000);
    routes.pauses.resume(instanceOf(user));
  });

  test('a chat stream in flight ends with an SSE error event agent_paused, and the agent\'s stream is let go', async () => {
    const user = newUser();
    streamCancelled = Promise.withResolvers<void>();
    const res = await call('/chat', user, { method: 'POST', body: '{"message":"hi"}' }, { Accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: delta');
    routes.pauses.pause(instanceOf(user));
    let rest = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) rest += new TextDecoder().decode(read.value);
    expect(rest).toStartWith('event: error\n');
    expect(JSON.parse(/^data: (.*)$/m.exec(rest)![1]!)).toMatchObject({ code: 'agent_paused' });
    await streamCancelled.promise;
    routes.pauses.resume(instanceOf(user));
    // Its route is kept: once unpaused the agent is used again without a start.
    expect(routes.isHealthy(identityFor(user).id)).toBe(true);
  });
});

describe('the listeners of requests in flight', () => {
  test('a pause calls the listeners still registered, once, and those of other agents not at all', () => {
    const pauses = new Pauses();
    const called: string[] = [];
    const stopA = pauses.onPause('a', () => called.push('a1'));
    pauses.onPause('a', () => called.push('a2'));
    pauses.onPause('b', () => called.push('b1'));
    stopA();
    pauses.pause('a');
    pauses.pause('a');
    expect(called).toEqual(['a2']);
  });

  test('a finished request\'s place is reused, and stopping it twice never removes the listener that took its place', () => {
    const pauses = new Pauses();
    const called: string[] = [];
    const stopFirst = pauses.onPause('a', () => called.push('first'));
    stopFirst();
    pauses.onPause('a', () => called.push('second'));
    stopFirst();
    pauses.pause('a');
    expect(called).toEqual(['second']);
  });
});

describe('where pauses come from', () => {
  test('the route table follows pause and unpause events, forgets a pause when the agent goes, and adopts paused agents as paused', async () => {
    const events: AgentEvent[] = [
      { type: 'paused', userId: 'ada', instanceId: 'c-ada' },
      { type: 'paused', userId: 'bob', instanceId: 'c-bob' },
      { type: 'unpaused', userId: 'ada', instanceId: 'c-ada' },
      { type: 'paused', userId: 'cy', instanceId: 'c-cy' },
      { type: 'gone', userId: 'cy', instanceId: 'c-cy', exitCode: 137 },
    ];
    const runtime: AgentRuntime = {
      ...stubRuntime,
      // Found frozen by the scan after a gateway restart: it keeps its address and route.
      list: async () => [{ userId: 'dee', instanceId: 'c-dee', outdated: false, running: false, paused: true, url: 'http://c-dee.test:8000' }],
      async *events() {
        yield* events;
      },
    };
    const table = new RouteTable();
    const following = new AbortController();
    const lines: unknown[] = [];
    const done = table.follow(runtime, following.signal, (line) => lines.push(line));
    await Bun.sleep(50);
    following.abort();
    await done;
    expect(table.get('dee')?.instanceId).toBe('c-dee');
    expect(['c-ada', 'c-bob', 'c-cy', 'c-dee'].filter((id) => table.pauses.has(id))).toEqual(['c-bob', 'c-dee']);
    expect(lines).toContainEqual({ level: 'warn', msg: 'agent paused on the engine', event: 'paused', userId: 'bob', instanceId: 'c-bob' });
    expect(lines).toContainEqual({ level: 'warn', msg: 'agent unpaused on the engine', event: 'unpaused', userId: 'ada', instanceId: 'c-ada' });
  });

  test('a paused agent not yet seen healthy is refused at once rather than waited on for START_TIMEOUT', async () => {
    const table = new RouteTable();
    const identity = identityFor('frozen@example.com');
    table.set({ userId: identity.id, instanceId: 'c-frozen', url: 'http://c-frozen.test:8000' });
    table.pauses.pause('c-frozen');
    const never = (async () => forever()) as unknown as typeof fetch;
    const lifecycle = new Lifecycle({ runtime: stubRuntime, routes: table, activity: new Activity(), settings: testSettings().lifecycle, startTimeoutMs: 60_000, fetch: never });
    const error = await lifecycle.ensure(identity).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 503, code: 'agent_paused' });
    table.pauses.resume('c-frozen');
    const healthy = new Lifecycle({ runtime: stubRuntime, routes: table, activity: new Activity(), settings: testSettings().lifecycle, startTimeoutMs: 60_000, fetch: healthyFetch });
    expect((await healthy.ensure(identity)).instanceId).toBe('c-frozen');
  });

  test('a container the runtime finds paused before the route table knows it gets the same answer as a known paused one', async () => {
    const identity = identityFor('unknown-frozen@example.com');
    const pausedOnEngine: AgentRuntime = {
      ...stubRuntime,
      async ensure() {
        throw new AgentStartError(`Agent ${identity.containerName} is paused.`, 'agent_paused');
      },
    };
    const lifecycle = new Lifecycle({ runtime: pausedOnEngine, routes: new RouteTable(), activity: new Activity(), settings: testSettings().lifecycle, startTimeoutMs: 60_000, fetch: healthyFetch });
    const error = await lifecycle.ensure(identity).catch((err: unknown) => err);
    const known = agentPaused();
    expect(error).toMatchObject({ status: 503, code: 'agent_paused', message: known.message, headers: known.headers });
    expect((error as Error).message).not.toContain(identity.containerName);
  });
});
