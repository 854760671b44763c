/** GET /metrics through the whole chain with a fake runtime: the token, the names and the counts. */
import { expect, test } from 'bun:test';
import { Activity } from '../src/agents/activity.ts';
import { Lifecycle } from '../src/agents/lifecycle.ts';
import { AgentObserver } from '../src/agents/observer.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { createMetrics } from '../src/metrics.ts';
import { AgentStartError } from '../src/runtime/types.ts';
import { fakeRuntime } from './fake-runtime.ts';
import { authHeaders, testSettings, trustingUsers } from './helpers.ts';
import { parsePrometheus, sampleValue } from './prometheus.ts';

const ADMIN = 'admin-token-for-the-tests';
const METRICS = 'metrics-token-for-the-tests';

/** The agent: healthy; `/chat` fails as the reference agent does when its provider refuses the key. */
const agentFetch = (async (input: RequestInfo | URL) => {
  const url = new URL(input instanceof Request ? input.url : input);
  if (url.pathname === '/health') return Response.json({ status: 'ok' });
  if (url.pathname === '/chat') return Response.json({ error: 'The LLM provider refused the request.', code: 'llm_failed' }, { status: 502 });
  return Response.json({ ok: true });
}) as typeof fetch;

function gateway(env: Record<string, string> = { ADMIN_TOKEN: ADMIN, METRICS_TOKEN: METRICS }) {
  const fake = fakeRuntime();
  const lines: Record<string, unknown>[] = [];
  const log = (line: Record<string, unknown>) => void lines.push(line);
  const app = createApp({ settings: testSettings(env), runtime: fake.runtime, users: trustingUsers(), routes: new RouteTable(), fetch: agentFetch, log });
  return { ...fake, app, lines };
}

const scrape = async (app: ReturnType<typeof gateway>['app'], token = ADMIN) => {
  const res = await app.request('/metrics', { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await res.text());
};

test('/metrics needs ADMIN_TOKEN or METRICS_TOKEN, not GATEWAY_TOKEN; with neither set there is no /metrics', async () => {
  const { app } = gateway();
  expect((await app.request('/metrics')).status).toBe(401);
  expect((await app.request('/metrics', { headers: authHeaders('a@example.com') })).status).toBe(401);
  await scrape(app, ADMIN);
  await scrape(app, METRICS);
  const bare = gateway({});
  expect((await bare.app.request('/metrics', { headers: authHeaders('a@example.com') })).status).toBe(404);
});

test('requests by route and status class, proxy latency, spawns, agents by state and the agent’s error codes', async () => {
  const { app } = gateway();
  expect((await app.request('/memory', { headers: authHeaders('ada@example.com') })).status).toBe(200);
  expect((await app.request('/files/notes/a.md', { headers: authHeaders('ada@example.com') })).status).toBe(200);
  const chat = await app.request('/chat', { method: 'POST', headers: authHeaders('ada@example.com', { 'Content-Type': 'application/json' }), body: '{"message":"hi"}' });
  expect(chat.status).toBe(502);
  await chat.text();
  expect((await app.request('/nowhere', { headers: authHeaders('ada@example.com') })).status).toBe(404);
  // The error body is read off the hot path.
  await Bun.sleep(5);

  const samples = await scrape(app);
  expect(sampleValue(samples, 'nanobot_gateway_requests_total', { route: '/memory', status_class: '2xx' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_requests_total', { route: '/files/*', status_class: '2xx' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_requests_total', { route: '/chat', status_class: '5xx' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_requests_total', { route: 'unmatched', status_class: '4xx' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_proxy_seconds_count', { route: '/chat' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_proxy_seconds_bucket', { route: '/memory', le: '+Inf' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_agent_errors_total', { code: 'llm_failed' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_spawn_seconds_count')).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_agents', { state: 'running' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_spawn_queue_length')).toBe(0);
  // Every name follows the conventions: the gateway's prefix, counters end in _total, durations in _seconds.
  for (const s of samples) expect(s.name).toMatch(/^nanobot_gateway_[a-z_]+$/);
});

test('a failed start counts by reason and logs its state; the gateway’s own 502 is no agent error', async () => {
  const { app, hooks, lines } = gateway();
  hooks.beforeStart = async () => {
    throw new AgentStartError('The agent image nanobot-tutor is not available on the Docker Engine.', 'image_missing');
  };
  const res = await app.request('/memory', { headers: authHeaders('bo@example.com') });
  expect(res.status).toBe(503);
  await Bun.sleep(5);
  const samples = await scrape(app);
  expect(sampleValue(samples, 'nanobot_gateway_spawn_failures_total', { reason: 'image_missing' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_agents', { state: 'failed' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_agent_errors_total', { code: 'image_missing' })).toBeUndefined();
  const states = lines.filter((l) => l.msg === 'agent state').map((l) => l.state);
  expect(states).toEqual(['creating', 'starting', 'failed']);
  expect(lines.find((l) => l.state === 'failed')).toMatchObject({ level: 'warn', reason: 'image_missing', userId: expect.stringMatching(/^bo_example_com-/) });
});

test('the queue and passing states are counted while a start waits', async () => {
  const fake = fakeRuntime();
  const settings = testSettings({ ADMIN_TOKEN: ADMIN, MAX_CONCURRENT_SPAWNS: '1' });
  const metrics = createMetrics();
  const observer = new AgentObserver(() => {}, metrics);
  const routes = new RouteTable();
  const activity = new Activity();
  const lifecycle = new Lifecycle({ runtime: fake.runtime, routes, activity, settings: settings.lifecycle, startTimeoutMs: 1_000, fetch: agentFetch, onState: observer.observe });
  const app = createApp({ settings, runtime: fake.runtime, users: trustingUsers(), routes, activity, lifecycle, metrics, observer, fetch: agentFetch, log: () => {} });
  const gate = Promise.withResolvers<void>();
  fake.hooks.beforeStart = () => gate.promise;
  const first = app.request('/memory', { headers: authHeaders('a@example.com') });
  const second = app.request('/memory', { headers: authHeaders('b@example.com') });
  await Bun.sleep(5);
  const during = await scrape(app);
  expect(sampleValue(during, 'nanobot_gateway_spawn_queue_length')).toBe(1);
  expect(sampleValue(during, 'nanobot_gateway_agents', { state: 'queued' })).toBe(1);
  expect(sampleValue(during, 'nanobot_gateway_agents', { state: 'starting' })).toBe(1);
  gate.resolve();
  expect((await first).status).toBe(200);
  expect((await second).status).toBe(200);
  const after = await scrape(app);
  expect(sampleValue(after, 'nanobot_gateway_agents', { state: 'running' })).toBe(2);
  expect(sampleValue(after, 'nanobot_gateway_spawn_seconds_count')).toBe(2);
});

test('each gateway has its own registry: two in one process count apart', async () => {
  const one = gateway();
  const two = gateway();
  await one.app.request('/memory', { headers: authHeaders('a@example.com') });
  expect(sampleValue(await scrape(one.app), 'nanobot_gateway_requests_total', { route: '/memory' })).toBe(1);
  expect(sampleValue(await scrape(two.app), 'nanobot_gateway_requests_total', { route: '/memory' })).toBeUndefined();
});

test('the request log says how long the agent took to start, only when it had to', async () => {
  const { app, hooks, lines } = gateway();
  hooks.beforeStart = () => Bun.sleep(30);
  await (await app.request('/memory', { headers: authHeaders('ed@example.com') })).text();
  await (await app.request('/memory', { headers: authHeaders('ed@example.com') })).text();
  const requests = lines.filter((l) => l.msg === 'request');
  expect(requests).toHaveLength(2);
  expect(requests[0]?.agentStartMs).toBeGreaterThanOrEqual(30);
  expect(requests[1]?.agentStartMs).toBeUndefined();
  // Nothing in the request or state lines names the email beyond the user id.
  expect(JSON.stringify(lines)).not.toContain('ed@example.com');
});
