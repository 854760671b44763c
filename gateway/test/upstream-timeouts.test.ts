/**
 * The proxy's deadlines against a scripted agent on a real socket: header timeouts per route, the
 * re-check of an agent that missed one, a stalled request body, and an agent lost mid-stream.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { createApp } from '../src/app.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { identityFor } from '../src/identity.ts';
import { serve } from '../src/serve.ts';
import type { AgentRuntime } from '../src/runtime/types.ts';
import { authHeaders, stubRuntime, testSettings, trustingUsers } from './helpers.ts';

type Handler = (req: Request) => Response | Promise<Response>;

/** What the scripted agent does per path; `/health` answers ok unless a test says otherwise. */
const script = new Map<string, Handler>();
const seen: string[] = [];
const forever = () => new Promise<never>(() => {});

let agent: ReturnType<typeof Bun.serve>;
let gateway: ReturnType<typeof serve>;
let killed: Bun.TCPSocketListener;
let killedSocket: Bun.Socket<unknown> | undefined;
let agentRuntime: AgentRuntime;

beforeAll(() => {
  agent = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req, server) {
      server.timeout(req, 0);
      const path = new URL(req.url).pathname;
      seen.push(path);
      return (script.get(path) ?? (() => Response.json({ status: 'ok', path })))(req);
    },
  });
  // A killed agent, as the gateway sees it: the answer's head and two events, then the connection ends.
  killed = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(socket) {
        // The request's head and body may come as two reads: answer once, or the second answer corrupts the first.
        if (socket === killedSocket) return;
        const event = (text: string) => `event: delta\ndata: {"text":"${text}"}\n\n`;
        const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(event('part 1'))}${chunk(event('part 2'))}`);
        // The test ends it once the client has seen part 2: a fixed delay raced the gateway's first read.
        killedSocket = socket;
      },
    },
  });
  const runtime: AgentRuntime = {
    ...stubRuntime,
    ensure: async (identity) => ({ userId: identity.id, instanceId: `c-${identity.id}`, url: `http://127.0.0.1:${identity.email.startsWith('killed.') ? killed.port : agent.port}` }),
  };
  agentRuntime = runtime;
  const settings = testSettings({ UPSTREAM_TIMEOUT_MS: '1500', UPSTREAM_QUICK_TIMEOUT: '300ms', HEALTH_RECHECK_TIMEOUT: '100ms', BODY_IDLE_TIMEOUT: '300ms' });
  gateway = serve(createApp({ settings, runtime, users: trustingUsers(), routes: new RouteTable(), log: () => {} }), { port: 0, hostname: '127.0.0.1' });
});

afterAll(async () => {
  await gateway.stop(true);
  await agent.stop(true);
  killed.stop(true);
});

afterEach(() => {
  script.clear();
  seen.length = 0;
});

let users = 0;
/** A user of their own per test, so one test's marked agent is not the next one's. */
const newUser = () => `timeouts.${(users += 1)}@example.com`;
const call = (path: string, user: string, init: RequestInit = {}) => fetch(`${gateway.url}${path}`, { ...init, headers: authHeaders(user, init.headers as Record<string, string>) });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as { code: string }).code).toBe(code);
}

describe('header timeouts per route', () => {
  test('a quick route that hangs is cut after UPSTREAM_QUICK_TIMEOUT with a JSON 504', async () => {
    script.set('/memory', forever);
    const started = performance.now();
    await expectError(await call('/memory', newUser()), 504, 'upstream_timeout');
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1400);
  });

  test('/chat may take longer than the quick timeout, up to UPSTREAM_TIMEOUT_MS', async () => {
    script.set('/chat', async () => {
      await Bun.sleep(600);
      return Response.json({ response: 'late but fine' });
    });
    const res = await call('/chat', newUser(), { method: 'POST', body: '{"message":"hi"}' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response: 'late but fine' });
  });

  test('after a timeout the next request asks /health first, and a hung agent answers 504 agent_unresponsive at once', async () => {
    const user = newUser();
    script.set('/files', forever);
    await expectError(await call('/files', user), 504, 'upstream_timeout');
    script.set('/health', forever);
    seen.length = 0;
    const started = performance.now();
    await expectError(await call('/files', user), 504, 'agent_unresponsive');
    expect(performance.now() - started).toBeLessThan(290);
    expect(seen).toEqual(['/health']);
  });

  test('an agent that answers its health check again is used again, and checked no more after that', async () => {
    const user = newUser();
    script.set('/sessions', forever);
    await expectError(await call('/sessions', user), 504, 'upstream_timeout');
    script.delete('/sessions');
    seen.length = 0;
    expect((await call('/sessions', user)).status).toBe(200);
    expect((await call('/sessions', user)).status).toBe(200);
    expect(seen).toEqual(['/health', '/sessions', '/sessions']);
  });

  test('another student is not held up by one student\'s hung agent', async () => {
    const stuck = newUser();
    const stuckId = identityFor(stuck).id;
    script.set('/memory', (req) => (req.headers.get('x-user-id') === stuckId ? forever() : Response.json({ memory: '' })));
    const pending = call('/memory', stuck);
    const started = performance.now();
    expect((await call('/memory', newUser())).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(290);
    await expectError(await pending, 504, 'upstream_timeout');
  });
});

describe('request bodies', () => {
  /** A body that sends `first`, then nothing for `stallMs`, then the rest (or never, when stallMs is Infinity). */
  function stallingBody(first: string, stallMs: number, rest = '') {
    return new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode(first));
        if (!Number.isFinite(stallMs)) return;
        await Bun.sleep(stallMs);
        controller.enqueue(new TextEncoder().encode(rest));
        controller.close();
      },
    });
  }

  const echo: Handler = async (req) => Response.json({ received: (await req.text()).length });

  test('a chunked body that stops arriving for BODY_IDLE_TIMEOUT is cut with a JSON 408', async () => {
    script.set('/uploads', echo);
    const started = performance.now();
    const res = await call('/uploads', newUser(), { method: 'POST', body: stallingBody('{"files":[', Infinity) });
    await expectError(res, 408, 'body_timeout');
    expect(performance.now() - started).toBeLessThan(1400);
  });

  test('a body whose parts keep coming within the idle timeout gets through, however long it takes overall', async () => {
    script.set('/uploads', echo);
    const parts = 5;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let i = 0; i < parts; i += 1) {
          controller.enqueue(new TextEncoder().encode('x'.repeat(10)));
          await Bun.sleep(150);
        }
        controller.close();
      },
    });
    const res = await call('/uploads', newUser(), { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: parts * 10 });
  });

  test('a large upload with a declared length that arrives slower than the quick timeout still reaches the agent', async () => {
    script.set('/uploads', echo);
    const size = 3 * 512 * 1024;
    const head = Object.entries({ ...authHeaders(newUser()), Host: 'localhost', 'Content-Length': String(size), Connection: 'close' })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    // Half the body, 500 ms of a slow connection (over the 300 ms quick timeout), then the rest.
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      Bun.connect({
        hostname: '127.0.0.1',
        port: gateway.port!,
        socket: {
          async open(socket) {
            socket.write(`POST /uploads HTTP/1.1\r\n${head}\r\n`);
            socket.write('a'.repeat(size / 2));
            await Bun.sleep(500);
            socket.write('b'.repeat(size / 2));
          },
          data: (_socket, data) => void (text += data.toString()),
          close: () => resolve(text),
          error: (_socket, err) => reject(err),
        },
      }).catch(reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(answer).toContain(`{"received":${size}}`);
  });

  /** Sends a request with a declared small body over a raw socket: `first` bytes, a pause, then the rest (or nothing). */
  function declaredBody(user: string, size: number, first: number, pauseMs: number): Promise<string> {
    const head = Object.entries({ ...authHeaders(user), Host: 'localhost', 'Content-Length': String(size), Connection: 'close' })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    return new Promise<string>((resolve, reject) => {
      let text = '';
      Bun.connect({
        hostname: '127.0.0.1',
        port: gateway.port!,
        socket: {
          async open(socket) {
            socket.write(`POST /uploads HTTP/1.1\r\n${head}\r\n${'a'.repeat(first)}`);
            if (!Number.isFinite(pauseMs)) return;
            await Bun.sleep(pauseMs);
            socket.write('b'.repeat(size - first));
          },
          data: (_socket, data) => void (text += data.toString()),
          close: () => resolve(text),
          error: (_socket, err) => reject(err),
        },
      }).catch(reject);
    });
  }

  test('a small body with a declared length that stops arriving is cut with a JSON 408 too, and the agent is not asked', async () => {
    script.set('/uploads', echo);
    const started = performance.now();
    const answer = await declaredBody(newUser(), 1000, 10, Infinity);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toContain('"code":"body_timeout"');
    expect(performance.now() - started).toBeLessThan(1400);
    expect(seen).not.toContain('/uploads');
  });

  test('a small body with a declared length that pauses within the idle timeout reaches the agent whole', async () => {
    script.set('/uploads', echo);
    const answer = await declaredBody(newUser(), 1000, 10, 150);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(answer).toContain('{"received":1000}');
  });

  test('the quick header timeout starts once the body has arrived, not with the request', async () => {
    script.set('/uploads', async (req) => {
      const text = await req.text();
      await Bun.sleep(200);
      return Response.json({ received: text.length });
    });
    // 250 ms of body, then 200 ms of work: 450 ms in all, over the 300 ms header timeout.
    const res = await call('/uploads', newUser(), { method: 'POST', body: stallingBody('a', 250, 'b') });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 2 });
  });
});

describe('an agent lost in the middle of a streamed answer', () => {
  test('the client gets an SSE error event agent_lost after what the agent had sent, not a reset', async () => {
    const res = await call('/chat', `killed.${newUser()}`, { method: 'POST', body: '{"message":"hi"}', headers: { Accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('part 2')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    killedSocket!.end();
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
    expect(text).toContain('data: {"text":"part 2"}');
    const last = text.trim().split('\n\n').at(-1)!;
    expect(last.split('\n')[0]).toBe('event: error');
    const payload = JSON.parse(last.split('\n')[1]!.slice('data: '.length)) as { error: string; code: string };
    expect(payload.code).toBe('agent_lost');
    expect(payload.error).toContain('kept');
  });

  test('a stream that ends normally is passed on as it is', async () => {
    script.set('/chat', () => new Response('event: delta\ndata: {"text":"a"}\n\nevent: done\ndata: {"response":"a"}\n\n', { headers: { 'Content-Type': 'text/event-stream' } }));
    const res = await call('/chat', newUser(), { method: 'POST', body: '{"message":"hi"}' });
    expect(await res.text()).toBe('event: delta\ndata: {"text":"a"}\n\nevent: done\ndata: {"response":"a"}\n\n');
  });
});

describe('a caller that goes away while its agent works', () => {
  // Deadlines of a minute: only the caller's leaving can end the agent's request in these tests.
  let patient: ReturnType<typeof serve>;
  beforeAll(() => {
    const settings = testSettings({ UPSTREAM_TIMEOUT_MS: '60000', UPSTREAM_QUICK_TIMEOUT: '60s' });
    patient = serve(createApp({ settings, runtime: agentRuntime, users: trustingUsers(), routes: new RouteTable(), log: () => {} }), { port: 0, hostname: '127.0.0.1' });
  });
  afterAll(() => patient.stop(true));

  /** Resolves when the agent's side of the request is cut (its request aborted or its answer cancelled). */
  function agentCut() {
    let cut: () => void = () => {};
    const done = new Promise<void>((resolve) => (cut = resolve));
    let asked: () => void = () => {};
    const reached = new Promise<void>((resolve) => (asked = resolve));
    return { done, reached, cut: () => cut(), asked: () => asked() };
  }

  /** An answer that never ends: `chunk` every 50 ms until the reader goes. */
  function endless(chunk: string, onCancel: () => void) {
    let timer: Timer | undefined;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => controller.enqueue(new TextEncoder().encode(chunk)), 50);
      },
      cancel() {
        clearInterval(timer);
        onCancel();
      },
    });
  }

  const callPatient = (path: string, signal: AbortSignal) =>
    fetch(`${patient.url}${path.slice(1)}`, { method: 'POST', body: '{"message":"hi"}', headers: authHeaders(newUser()), signal });

  /** A caller that leaves `afterMs` after its agent was asked, while the agent works on; how long until the agent's request is cut. */
  async function leaveWhileAgentWorks(afterMs: number): Promise<number> {
    const agent = agentCut();
    script.set('/chat', (req) => {
      req.signal.addEventListener('abort', agent.cut, { once: true });
      agent.asked();
      return forever();
    });
    const caller = new AbortController();
    const pending = callPatient('/chat', caller.signal).catch(() => 'gone');
    await agent.reached;
    await Bun.sleep(afterMs);
    const leftAt = performance.now();
    caller.abort();
    expect(await pending).toBe('gone');
    await agent.done;
    return performance.now() - leftAt;
  }

  test('before its answer: the agent\'s request is cut within about a second', async () => {
    expect(await leaveWhileAgentWorks(0)).toBeLessThan(2_000);
  }, 15_000);

  test('after a long wait: once it has waited a second, the agent\'s request is cut as the caller goes', async () => {
    expect(await leaveWhileAgentWorks(1_500)).toBeLessThan(500);
  }, 15_000);

  for (const [kind, type, chunk] of [
    ['an SSE chat', 'text/event-stream', 'event: delta\ndata: {"text":"a"}\n\n'],
    ['a download of no declared length', 'application/octet-stream', 'x'.repeat(1024)],
    ['a fast download (1 MiB every 50 ms) the caller stopped reading', 'application/octet-stream', 'x'.repeat(1024 * 1024)],
  ] as const) {
    test(`in the middle of ${kind} answered at once: the agent's answer is cut`, async () => {
      const agent = agentCut();
      script.set('/export', () => new Response(endless(chunk, agent.cut), { headers: { 'Content-Type': type } }));
      const caller = new AbortController();
      const res = await callPatient('/export', caller.signal);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      const leftAt = performance.now();
      caller.abort();
      await agent.done;
      expect(performance.now() - leftAt).toBeLessThan(2_000);
    }, 15_000);
  }
});
