/** Bounded use per student: the rate and open-request limits, alone and in the gateway's chain. */
import { describe, expect, test } from 'bun:test';
import { createApp } from '../src/app.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { UserLimiter } from '../src/middleware/user-limits.ts';
import { authHeaders, stubRuntime, testSettings, trustingUsers } from './helpers.ts';

describe('UserLimiter', () => {
  test('lets a quiet user spend a minute\'s requests at once, then one per refill', () => {
    let now = 0;
    const limiter = new UserLimiter({ requestsPerMinute: 60, maxConnections: 0 }, () => now);
    for (let i = 0; i < 60; i += 1) expect(limiter.take('ada').ok).toBe(true);
    expect(limiter.take('ada')).toEqual({ ok: false, retryAfterS: 1 });
    now += 1_000;
    expect(limiter.take('ada').ok).toBe(true);
    expect(limiter.take('ada').ok).toBe(false);
    // Another student is not slowed by Ada.
    expect(limiter.take('bob').ok).toBe(true);
  });

  test('says how long to wait when the rate is slow', () => {
    let now = 0;
    const limiter = new UserLimiter({ requestsPerMinute: 2, maxConnections: 0 }, () => now);
    limiter.take('ada');
    limiter.take('ada');
    expect(limiter.take('ada')).toEqual({ ok: false, retryAfterS: 30 });
    now += 29_000;
    expect(limiter.take('ada')).toEqual({ ok: false, retryAfterS: 1 });
  });

  test('counts open connections per user and frees them once, however often the end is reported', () => {
    const limiter = new UserLimiter({ requestsPerMinute: 0, maxConnections: 2 });
    const first = limiter.enter('ada')!;
    const second = limiter.enter('ada')!;
    expect(limiter.enter('ada')).toBeUndefined();
    expect(limiter.enter('bob')).toBeDefined();
    first();
    first();
    expect(limiter.openConnections('ada')).toBe(1);
    second();
    expect(limiter.openConnections('ada')).toBe(0);
  });

  test('0 for both turns the limits off', () => {
    expect(new UserLimiter({ requestsPerMinute: 0, maxConnections: 0 }).enabled).toBe(false);
    const limiter = new UserLimiter({ requestsPerMinute: 0, maxConnections: 5 });
    for (let i = 0; i < 1_000; i += 1) expect(limiter.take('ada').ok).toBe(true);
  });
});

describe('the limits in the gateway chain', () => {
  /** An agent whose /chat answer stays open until `release` is called. */
  function gateway(env: Record<string, string>) {
    const releases: (() => void)[] = [];
    const agentFetch = (async (input: RequestInfo | URL) => {
      const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
      if (path !== '/chat') return Response.json({ status: 'ok' });
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('data: hello\n\n'));
          releases.push(() => controller.close());
        },
      });
      return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
    }) as typeof fetch;
    const settings = testSettings(env);
    const app = createApp({ settings, runtime: stubRuntime, users: trustingUsers(), routes: new RouteTable(), fetch: agentFetch, log: () => {} });
    const call = (path: string, email = 'ada@example.edu') => app.request(path, { headers: authHeaders(email) });
    return { call, releases };
  }

  async function expectRefused(res: Response, code: string) {
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { error: string; code: string };
    expect(body.code).toBe(code);
    expect(body.error).toBeString();
  }

  test('a student over the rate gets 429 rate_limited with Retry-After, on the agent routes too; others are served', async () => {
    const { call } = gateway({ USER_REQUESTS_PER_MINUTE: '3' });
    for (const path of ['/files', '/sessions', '/agent']) expect((await call(path)).status).toBe(200);
    await expectRefused(await call('/files'), 'rate_limited');
    await expectRefused(await call('/agent'), 'rate_limited');
    expect((await call('/files', 'bob@example.edu')).status).toBe(200);
  });

  test('a streamed answer holds a connection until it ends; the next request past the limit gets 429 too_many_connections', async () => {
    const { call, releases } = gateway({ USER_MAX_CONNECTIONS: '2' });
    const open = [await call('/chat'), await call('/chat')];
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    await expectRefused(await call('/files'), 'too_many_connections');
    expect((await call('/files', 'bob@example.edu')).status).toBe(200);
    releases[0]!();
    await open[0]!.text();
    expect((await call('/files')).status).toBe(200);
    // A client that goes away frees its connection as well.
    await open[1]!.body!.cancel();
    expect((await call('/files')).status).toBe(200);
  });

  test('the defaults leave a student\'s ordinary use alone', async () => {
    const { call } = gateway({});
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 ? '/files' : '/sessions')));
    expect(answers.map((r) => r.status)).toEqual(Array(30).fill(200));
  });

  test('an invalid identity is answered 400 before any limit is counted', async () => {
    const { call } = gateway({ USER_REQUESTS_PER_MINUTE: '1' });
    for (let i = 0; i < 3; i += 1) expect((await call('/files', 'not an email')).status).toBe(400);
    expect((await call('/files')).status).toBe(200);
  });
});
