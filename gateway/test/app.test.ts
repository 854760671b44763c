import { describe, expect, test } from 'bun:test';
import { createApp } from '../src/app.ts';
import { identityFor } from '../src/identity.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import type { AgentIdentity } from '../src/identity.ts';
import { AgentStartError, type AgentRuntime, type RunningAgent } from '../src/runtime/types.ts';
import { authHeaders, testSettings, TOKEN, trustingUsers } from './helpers.ts';

type FakeOptions = { fail?: AgentStartError };

/** A runtime that "starts" agents at a fake address and counts how often it was asked. */
function fakeRuntime({ fail }: FakeOptions = {}) {
  const ensured: AgentIdentity[] = [];
  const runtime: AgentRuntime = {
    async ensure(identity) {
      ensured.push(identity);
      if (fail) throw fail;
      return { userId: identity.id, instanceId: `c-${identity.id}`, url: `http://${identity.containerName}.test:8000` } satisfies RunningAgent;
    },
    async locate() {
      return undefined;
    },
    async list() {
      return [];
    },
    async *events() {},
    async find() {
      return undefined;
    },
    async stop() {},
    async remove() {},
    async checkReady() {},
  };
  return { runtime, ensured };
}

/** Stands in for the agent: healthy, and echoes what reached it. */
const agentFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const req = new Request(input, init);
  const url = new URL(req.url);
  if (url.pathname === '/health') return Response.json({ status: 'ok' });
  return Response.json({ url: req.url, authorization: req.headers.get('authorization'), userId: req.headers.get('x-user-id') });
}) as typeof fetch;

const quiet = () => {};

function app(options: FakeOptions = {}, settings = testSettings({ START_TIMEOUT_MS: '300', MAX_BODY_BYTES: '1000' })) {
  const fake = fakeRuntime(options);
  return { ...fake, app: createApp({ settings, runtime: fake.runtime, users: trustingUsers(), routes: new RouteTable(), fetch: agentFetch, log: quiet }) };
}

async function expectJsonError(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: string; code: string; requestId: string };
  expect(body.error.length).toBeGreaterThan(0);
  expect(body.requestId.length).toBeGreaterThan(0);
  if (code) expect(body.code).toBe(code);
  return body;
}

describe('the gateway chain with a fake runtime', () => {
  test('answers /healthz without a token', async () => {
    const res = await app().app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('refuses a request without a token with a JSON 401', async () => {
    await expectJsonError(await app().app.request('/chat', { headers: { 'X-User-Email': 'a@b.com' } }), 401, 'unauthorized');
  });

  test('refuses a wrong token with a JSON 401', async () => {
    const res = await app().app.request('/chat', { headers: { Authorization: 'Bearer nope', 'X-User-Email': 'a@b.com' } });
    await expectJsonError(res, 401, 'unauthorized');
  });

  test('refuses a header that is not a bearer token with the same JSON 401', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${TOKEN} extra`]) {
      const res = await app().app.request('/chat', { headers: { Authorization: authorization, 'X-User-Email': 'a@b.com' } });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      await expectJsonError(res, 401, 'unauthorized');
    }
  });

  test('refuses a bad email with a JSON 400 and starts no agent', async () => {
    const { app: gateway, ensured } = app();
    await expectJsonError(await gateway.request('/chat', { headers: authHeaders('not an email') }), 400, 'invalid_identity');
    await expectJsonError(await gateway.request('/chat', { headers: { Authorization: `Bearer ${TOKEN}` } }), 400, 'invalid_identity');
    expect(ensured).toHaveLength(0);
  });

  test('answers an unknown path with a JSON 404', async () => {
    await expectJsonError(await app().app.request('/admin', { headers: authHeaders('a@b.com') }), 404, 'not_found');
  });

  test('answers an encoded traversal with a JSON 400', async () => {
    await expectJsonError(await app().app.request('/files/..%2f..%2fetc%2fpasswd', { headers: authHeaders('a@b.com') }), 400, 'invalid_path');
  });

  test('refuses a declared body over MAX_BODY_BYTES with 413 before starting an agent', async () => {
    const { app: gateway, ensured } = app();
    const res = await gateway.request('/uploads', { method: 'POST', headers: { ...authHeaders('a@b.com'), 'Content-Length': '5000' }, body: 'x'.repeat(5000) });
    await expectJsonError(res, 413, 'payload_too_large');
    expect(ensured).toHaveLength(0);
  });

  test('proxies to the agent with its own token and the user id, and reuses the route afterwards', async () => {
    const { app: gateway, ensured } = app();
    const res = await gateway.request('/files/notes.md?x=1', { headers: authHeaders(' Alice@Example.com ') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; authorization: string; userId: string };
    expect(body.url).toMatch(/^http:\/\/agent-alice_example_com-[0-9a-f]{10}\.test:8000\/files\/notes\.md\?x=1$/);
    expect(body.authorization).not.toContain(TOKEN);
    expect(body.userId).toBe(ensured[0]!.id);
    await gateway.request('/chat', { headers: authHeaders('alice@example.com') });
    expect(ensured).toHaveLength(1);
  });

  test('drops hop-by-hop headers from the agent answer, keeps the rest and adds the request id', async () => {
    const answer = (async () =>
      new Response('data: hi\n\n', {
        headers: { Connection: 'close, x-agent-private', 'X-Agent-Private': '1', 'Keep-Alive': 'timeout=5', 'Content-Type': 'text/event-stream' },
      })) as unknown as typeof fetch;
    const gateway = createApp({ settings: testSettings(), users: trustingUsers(), runtime: fakeRuntime().runtime, routes: new RouteTable(), fetch: answer, log: quiet });
    const res = await gateway.request('/chat', { headers: authHeaders('a@b.com') });
    expect(res.status).toBe(200);
    expect(res.headers.has('connection')).toBe(false);
    expect(res.headers.has('keep-alive')).toBe(false);
    expect(res.headers.has('x-agent-private')).toBe(false);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  test('maps an agent that cannot be started to 503 with Retry-After', async () => {
    const { app: gateway } = app({ fail: new AgentStartError('The agent image nanobot-tutor is not available.', 'image_missing') });
    const res = await gateway.request('/chat', { headers: authHeaders('a@b.com') });
    expect(res.headers.get('retry-after')).toBeTruthy();
    const body = await expectJsonError(res, 503, 'image_missing');
    expect(body.error).toContain('image');
  });

  test('maps an unexpected failure to a JSON 500 without a stack trace', async () => {
    const fake = fakeRuntime();
    fake.runtime.ensure = async () => {
      throw new Error('boom at secret/place.ts:12');
    };
    const logged: Record<string, unknown>[] = [];
    const gateway = createApp({ settings: testSettings(), users: trustingUsers(), runtime: fake.runtime, routes: new RouteTable(), fetch: agentFetch, log: (line) => logged.push(line) });
    const body = await expectJsonError(await gateway.request('/chat', { headers: authHeaders('a@b.com') }), 500, 'internal_error');
    expect(JSON.stringify(body)).not.toContain('place.ts');
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', msg: 'unhandled error', requestId: body.requestId }));
  });
});

describe('routes the gateway learnt without starting the agent itself', () => {
  const email = 'booting@example.com';
  const id = identityFor(email).id;

  /** An agent whose /health fails `failures` times before it answers, counting health checks. */
  function bootingAgent(failures: number) {
    const counts = { health: 0 };
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (new URL(req.url).pathname !== '/health') return Response.json({ answered: true });
      counts.health += 1;
      return counts.health > failures ? Response.json({ status: 'ok' }) : new Response(null, { status: 503 });
    }) as typeof fetch;
    return { counts, fetchImpl };
  }

  function gatewayWith(routes: RouteTable, fetchImpl: typeof fetch) {
    const fake = fakeRuntime();
    const settings = testSettings({ START_TIMEOUT_MS: '5000' });
    return { ...fake, app: createApp({ settings, runtime: fake.runtime, users: trustingUsers(), routes, fetch: fetchImpl, log: quiet }) };
  }

  test('an agent reported by the events stream is held until its /health answers, not started again', async () => {
    const routes = new RouteTable();
    routes.set({ userId: id, instanceId: 'c-1', url: 'http://booting.test:8000' });
    const { counts, fetchImpl } = bootingAgent(3);
    const { app: gateway, ensured } = gatewayWith(routes, fetchImpl);
    const res = await gateway.request('/memory', { headers: authHeaders(email) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ answered: true });
    expect(counts.health).toBe(4);
    expect(ensured).toHaveLength(0);
  });

  test('once healthy, the next request goes straight through without a health check', async () => {
    const routes = new RouteTable();
    routes.set({ userId: id, instanceId: 'c-1', url: 'http://booting.test:8000' });
    const { counts, fetchImpl } = bootingAgent(0);
    const { app: gateway } = gatewayWith(routes, fetchImpl);
    await gateway.request('/memory', { headers: authHeaders(email) });
    const checksAfterFirst = counts.health;
    expect((await gateway.request('/memory', { headers: authHeaders(email) })).status).toBe(200);
    expect(checksAfterFirst).toBe(1);
    expect(counts.health).toBe(1);
  });

  test('an agent that stopped and started again is checked again before use', async () => {
    const routes = new RouteTable();
    const agent = { userId: id, instanceId: 'c-1', url: 'http://booting.test:8000' };
    routes.setHealthy(agent);
    routes.delete(id, 'c-1');
    routes.set(agent);
    const { counts, fetchImpl } = bootingAgent(2);
    const { app: gateway } = gatewayWith(routes, fetchImpl);
    expect((await gateway.request('/memory', { headers: authHeaders(email) })).status).toBe(200);
    expect(counts.health).toBe(3);
  });
});
