/** The start-on-sign-in routes: POST /api/agent/start and GET /api/agent/events, against a stand-in gateway. */
import { afterAll, expect, test } from 'bun:test';
import { handleAgentEvents, handleAgentStart } from '../lib/api/agent.ts';
import { authorized, type ApiHandler } from '../lib/api/handler.ts';
import { readSse } from '../lib/client/sse.ts';

const TOKEN = 'agent-test-token';
const received: { method: string; path: string; email: string | null }[] = [];
let queueFull = false;

const gateway = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req) {
    const url = new URL(req.url);
    if (req.headers.get('authorization') !== `Bearer ${TOKEN}`) return Response.json({ code: 'unauthorized' }, { status: 401 });
    received.push({ method: req.method, path: url.pathname, email: req.headers.get('x-user-email') });
    if (url.pathname === '/agent/start') {
      if (queueFull) return Response.json({ error: 'full', code: 'spawn_queue_full' }, { status: 429, headers: { 'Retry-After': '7' } });
      return Response.json({ state: 'creating' }, { status: 202 });
    }
    const states = ['absent', 'creating', 'starting', 'waiting_for_health', 'running'];
    const body = states.map((state) => `event: state\ndata: ${JSON.stringify({ state })}\n\n`).join('');
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  },
});
afterAll(() => gateway.stop(true));

const route = (handler: ApiHandler, user: { email: string } | null = { email: 'ada@example.edu' }) =>
  authorized(handler, { resolveUser: async () => user, gateway: () => ({ url: `http://127.0.0.1:${gateway.port}`, token: TOKEN }) });

test('POST /api/agent/start asks the gateway to start the signed-in student’s tutor and answers 202', async () => {
  const response = await route(handleAgentStart)(new Request('http://web.test/api/agent/start', { method: 'POST' }));
  expect(response.status).toBe(202);
  expect(await response.json()).toEqual({ state: 'creating' });
  expect(received.at(-1)).toEqual({ method: 'POST', path: '/agent/start', email: 'ada@example.edu' });
});

test('a full spawn queue reaches the student as “starting” with the gateway’s Retry-After', async () => {
  queueFull = true;
  const response = await route(handleAgentStart)(new Request('http://web.test/api/agent/start', { method: 'POST' }));
  queueFull = false;
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('7');
  expect(await response.json()).toMatchObject({ code: 'starting', retryAfter: 7 });
});

test('GET /api/agent/events passes the states through as SSE', async () => {
  const response = await route(handleAgentEvents)(new Request('http://web.test/api/agent/events'));
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const states: string[] = [];
  for await (const { event, data } of readSse(response.body!)) if (event === 'state') states.push((JSON.parse(data) as { state: string }).state);
  expect(states).toEqual(['absent', 'creating', 'starting', 'waiting_for_health', 'running']);
});

test('anonymous callers get 401 and start nothing', async () => {
  const before = received.length;
  expect((await route(handleAgentStart, null)(new Request('http://web.test/api/agent/start', { method: 'POST' }))).status).toBe(401);
  expect(received.length).toBe(before);
});
