/** GET /agent, POST /agent/start, GET /agent/events and the in-flight count, through the whole chain with a fake runtime. */
import { expect, test } from 'bun:test';
import { Activity } from '../src/agents/activity.ts';
import { Lifecycle } from '../src/agents/lifecycle.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { identityFor } from '../src/identity.ts';
import { fakeRuntime } from './fake-runtime.ts';
import { authHeaders, testSettings, trustingUsers } from './helpers.ts';

function gateway(agentFetch: typeof fetch, env: Record<string, string> = {}) {
  const fake = fakeRuntime();
  const settings = testSettings(env);
  const routes = new RouteTable();
  const activity = new Activity();
  const lifecycle = new Lifecycle({ runtime: fake.runtime, routes, activity, settings: settings.lifecycle, startTimeoutMs: 1_000, fetch: agentFetch });
  const app = createApp({ settings, runtime: fake.runtime, users: trustingUsers(), routes, activity, lifecycle, fetch: agentFetch, log: () => {} });
  return { ...fake, app, activity, lifecycle };
}

const healthy = (async () => Response.json({ status: 'ok' })) as unknown as typeof fetch;

test('GET /agent tells the state without starting; POST /agent/start starts without waiting', async () => {
  const { app, calls, hooks } = gateway(healthy);
  const email = 'ada@example.com';
  expect(await (await app.request('/agent', { headers: authHeaders(email) })).json()).toEqual({ state: 'absent' });
  expect(calls).toEqual([]);
  const gate = Promise.withResolvers<void>();
  hooks.beforeStart = () => gate.promise;
  const res = await app.request('/agent/start', { method: 'POST', headers: authHeaders(email) });
  expect(res.status).toBe(202);
  // The state when asked: the start may not have reported its first step yet.
  expect(['absent', 'creating']).toContain(((await res.json()) as { state: string }).state);
  await Bun.sleep(5);
  expect(await (await app.request('/agent', { headers: authHeaders(email) })).json()).toEqual({ state: 'starting' });
  gate.resolve();
  await Bun.sleep(5);
  expect(await (await app.request('/agent', { headers: authHeaders(email) })).json()).toEqual({ state: 'running' });
});

test('the progress routes need the token and an identity like the proxied ones', async () => {
  const { app } = gateway(healthy);
  expect((await app.request('/agent')).status).toBe(401);
  expect((await app.request('/agent/start', { method: 'POST', headers: authHeaders('not an email') })).status).toBe(400);
});

test('HEAD on the progress routes ends like any request: it frees its connection and its events listener', async () => {
  const { app, lifecycle } = gateway(healthy, { USER_MAX_CONNECTIONS: '2' });
  let listening = 0;
  const watch = lifecycle.watch.bind(lifecycle);
  lifecycle.watch = (userId, listener) => {
    listening += 1;
    const unwatch = watch(userId, listener);
    return () => {
      listening -= 1;
      unwatch();
    };
  };
  const email = 'hal@example.com';
  for (const path of ['/agent', '/agent/events', '/agent/start', '/agent', '/agent/events']) {
    const res = await app.request(path, { method: 'HEAD', headers: authHeaders(email) });
    expect(res.body).toBeNull();
  }
  await Bun.sleep(5);
  expect(listening).toBe(0);
  expect((await app.request('/agent', { headers: authHeaders(email) })).status).toBe(200);
});

test('GET /agent/events streams each state in order until running', async () => {
  const { app, hooks } = gateway(healthy);
  const email = 'bob@example.com';
  const gate = Promise.withResolvers<void>();
  hooks.beforeStart = () => gate.promise;
  const events = await app.request('/agent/events', { headers: authHeaders(email) });
  expect(events.headers.get('content-type')).toContain('text/event-stream');
  const text = events.text();
  await Bun.sleep(5);
  await app.request('/agent/start', { method: 'POST', headers: authHeaders(email) });
  await Bun.sleep(5);
  gate.resolve();
  const states = (await text).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)).state);
  expect(states).toEqual(['absent', 'creating', 'starting', 'waiting_for_health', 'running']);
});

test('a request counts as in flight until its streamed answer has been read to the end', async () => {
  let finish = () => {};
  const streaming = (async (input: RequestInfo | URL) => {
    if (new URL(String(input)).pathname === '/health') return Response.json({ status: 'ok' });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: 1\n\n'));
        finish = () => controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  }) as typeof fetch;
  const { app, activity } = gateway(streaming);
  const id = identityFor('cy@example.com').id;
  const res = await app.request('/chat', { method: 'POST', headers: authHeaders('cy@example.com'), body: '{}' });
  const reader = res.body!.getReader();
  await reader.read();
  expect(activity.requestsInFlight(id)).toBe(1);
  finish();
  while (!(await reader.read()).done);
  expect(activity.requestsInFlight(id)).toBe(0);

  const abandoned = await app.request('/chat', { method: 'POST', headers: authHeaders('cy@example.com'), body: '{}' });
  expect(activity.requestsInFlight(id)).toBe(1);
  await abandoned.body!.cancel();
  expect(activity.requestsInFlight(id)).toBe(0);
});

test('a small answer of declared length is over once its headers are in; a large download is followed to its end', async () => {
  const big = 'x'.repeat(256 * 1024);
  const answers = (async (input: RequestInfo | URL) => {
    const path = new URL(String(input)).pathname;
    if (path === '/health') return Response.json({ status: 'ok' });
    // As an agent's answer arrives over HTTP: with its length declared.
    if (path === '/memory') return new Response('{"status":"ok"}', { headers: { 'content-type': 'application/json', 'content-length': '15' } });
    return new Response(big, { headers: { 'content-type': 'application/pdf', 'content-length': String(big.length) } });
  }) as typeof fetch;
  const { app, activity } = gateway(answers);
  const id = identityFor('dee@example.com').id;
  const small = await app.request('/memory', { headers: authHeaders('dee@example.com') });
  expect(activity.requestsInFlight(id)).toBe(0);
  expect(await small.json()).toEqual({ status: 'ok' });
  const download = await app.request('/files/notes/book.pdf', { headers: authHeaders('dee@example.com') });
  expect(activity.requestsInFlight(id)).toBe(1);
  expect((await download.text()).length).toBe(big.length);
  expect(activity.requestsInFlight(id)).toBe(0);
});
