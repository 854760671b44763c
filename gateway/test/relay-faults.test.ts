/**
 * The relay against providers that misbehave (redirects, odd statuses, endless or stalled error
 * bodies, echoed keys, streams that break off) and students who push (calls in parallel, streams
 * stopped early, bodies the relay should not have to read), on real sockets (no Docker).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { relayKey } from '../src/relay/keys.ts';
import { MAX_CALLS_IN_FLIGHT } from '../src/relay/limits.ts';
import { estimateTokens } from '../src/relay/usage.ts';
import { rawRequest } from './raw-http.ts';
import { startTestRelay, type TestRelay } from './test-relay.ts';

const SECRET = 'relay-faults-secret';
const OPENAI_KEY = 'sk-proj-faults-0123456789abcdefXYZ';
const ANTHROPIC_KEY = 'sk-ant-faults-0123456789abcdefXYZ';
const GATEWAY_SECRET = 'Bearer cf-aig-faults-ZYXWVUTSRQPONMLK';
/** OpenRouter's usual extra header: long, but not a secret, and it shares `https://` with every URL. */
const REFERER = 'https://school.example.edu';
const encoder = new TextEncoder();
const sse = (data: object) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);

/** A streamed answer the test lets finish (`release`), and learns of the relay giving it up (`cancelled`). */
type Held = { release: () => void; cancelled: Promise<void> };
const held: Held[] = [];
const HELD_TEXT = 'Hello there, student.';
let endlessErrorCancelled = Promise.withResolvers<void>();
const elsewhereSeen: string[] = [];
const forwarded: Array<Record<string, unknown>> = [];

/** Another host, where a redirect would lead. */
const elsewhere = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req) {
    elsewhereSeen.push(`${req.headers.get('authorization')} ${req.headers.get('x-api-key')}`);
    return Response.json({ type: 'message', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } });
  },
});

/** One provider for both API shapes; what it does is chosen by the request's `model`. */
const provider = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req) {
    const body = (await req.json()) as { model: string; stream?: unknown; stream_options?: { include_usage?: boolean } };
    forwarded.push(body);
    const echo = { 'x-debug-auth': `${req.headers.get('authorization')} ${req.headers.get('x-api-key')}`, 'x-request-id': 'req-1' };
    switch (body.model) {
      case 'redirect':
        return new Response(null, { status: 307, headers: { location: `http://localhost:${elsewhere.port}/v1/messages` } });
      case 'echo-key':
        return Response.json({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }, { headers: echo });
      case 'echo-key-error':
        return Response.json({ error: { message: 'nope' } }, { status: 400, headers: echo });
      case 'echo-gateway-secret':
        return Response.json(
          { error: { message: `bad gateway auth: ${req.headers.get('cf-aig-authorization')}; see https://docs.example.com/auth` } },
          { status: 401, headers: { link: '<https://docs.example.com/auth>; rel="help"' } },
        );
      case 'endless-error': {
        const mib = encoder.encode('x'.repeat(256 * 1024));
        return new Response(new ReadableStream({ pull: (c) => c.enqueue(mib), cancel: () => endlessErrorCancelled.resolve() }, { highWaterMark: 0 }), { status: 500 });
      }
      case 'stalled-error':
        return new Response(new ReadableStream({ start: (c) => c.enqueue(encoder.encode('{"error":')) }), { status: 500 });
      case 'lenient': {
        // A pydantic server: any truthy `stream` streams; usage only when asked for.
        const usage = body.stream_options?.include_usage ? [sse({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 2000 } })] : [];
        return new Response(new Blob([sse({ choices: [{ delta: { content: 'essay' } }] }), ...usage, encoder.encode('data: [DONE]\n\n')]), { headers: { 'content-type': 'text/event-stream' } });
      }
      case 'hold': {
        const release = Promise.withResolvers<void>();
        const cancelled = Promise.withResolvers<void>();
        held.push({ release: () => release.resolve(), cancelled: cancelled.promise });
        const stream = new ReadableStream<Uint8Array>({
          async start(c) {
            c.enqueue(sse({ choices: [{ index: 0, delta: { content: HELD_TEXT } }] }));
            await release.promise;
            try {
              c.enqueue(sse({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 5 } }));
              c.close();
            } catch {
              // Cancelled meanwhile.
            }
          },
          cancel: () => cancelled.resolve(),
        });
        return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
      }
      default:
        return Response.json({ model: body.model, choices: [], usage: { prompt_tokens: 2, completion_tokens: 2 } });
    }
  },
});

/** The connection of a `cut` answer, which the test ends once the agent has had its first events. */
let cutConnection: { end: () => void } | undefined;

/** A provider on a bare socket, for what no HTTP server would send: a status of 600, a chunked body cut off. */
const rawProvider = Bun.listen<{ received: string }>({
  hostname: '127.0.0.1',
  port: 0,
  socket: {
    open(socket) {
      socket.data = { received: '' };
    },
    data(socket, data) {
      socket.data.received += data.toString();
      const model = /"model":"([^"]+)"/.exec(socket.data.received)?.[1];
      if (!model) return;
      if (model === 'cut') {
        const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
        const events = ['data: {"choices":[{"index":0,"delta":{"content":"Half an"}}]}\n\n', 'data: {"choices":[{"index":0,"delta":{"content":" answer"}}]}\n\n'];
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${events.map(chunk).join('')}`);
        cutConnection = socket;
        return;
      }
      socket.write(`HTTP/1.1 ${model} Odd\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      socket.end();
    },
  },
});

const errors: unknown[] = [];
let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({
    providers: {
      openai: { apiKey: OPENAI_KEY, apiBase: `http://127.0.0.1:${provider.port}/v1` },
      anthropic: { apiKey: ANTHROPIC_KEY, apiBase: `http://127.0.0.1:${provider.port}` },
      custom: { apiKey: 'sk-custom-0123456789abcdef', apiBase: `http://127.0.0.1:${provider.port}/v1`, extraHeaders: { 'cf-aig-authorization': GATEWAY_SECRET, 'x-team': 'a', 'http-referer': REFERER } },
      vllm: { apiKey: 'tok', apiBase: `http://127.0.0.1:${rawProvider.port}` },
    },
    secret: SECRET,
    limits: { tokensPerDay: 1000 },
    upstreamTimeoutMs: 1000,
    onError: (err) => errors.push(err),
  });
});

afterAll(async () => {
  for (const h of held) h.release();
  await relay?.stop();
  await provider.stop(true);
  await elsewhere.stop(true);
  rawProvider.stop(true);
});

const call = (user: string, body: Record<string, unknown>, { provider: name = 'openai', signal }: { provider?: string; signal?: AbortSignal } = {}) =>
  fetch(`${relay.url}/llm/${name}${name === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${relayKey(SECRET, user)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...body }),
    signal,
  });

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string; scope?: string } }).error;
const today = (user: string) => relay.store.perUser().find((u) => u.userId === user)?.today;

/** Waits (no deadline but the test's) for what the relay does after an answer has gone. */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await Bun.sleep(5);
}

/** A call whose answer has started and waits for `release`: it holds one of its student's slots. */
async function holdOne(user: string): Promise<{ res: Response; held: Held }> {
  const res = await call(user, { model: 'hold', stream: true });
  expect(res.status).toBe(200);
  const last = held.at(-1);
  if (!last) throw new Error('the provider holds no answer');
  return { res, held: last };
}

/** A call whose body is announced but never sent in full: answered only if the relay does not wait for it. */
const unfinishedBody = (user: string) =>
  rawRequest(
    relay.port,
    `POST /llm/openai/v1/chat/completions HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${relayKey(SECRET, user)}\r\nContent-Type: application/json\r\nContent-Length: 30000\r\nConnection: close\r\n\r\n`,
    { body: ['{"model":"m","messages":['] },
  );

describe('the relay and its provider', () => {
  test('follows no redirect, where the key would go along: a 3xx is a 502 provider_error without its Location', async () => {
    for (const name of ['openai', 'anthropic']) {
      const res = await call('rex-1', { model: 'redirect' }, { provider: name });
      expect(res.status).toBe(502);
      expect(res.headers.get('location')).toBeNull();
      expect((await errorOf(res)).code).toBe('provider_error');
    }
    expect(elsewhereSeen).toEqual([]);
  });

  test.each(['600', '999'])('answers a provider status of %p with a 502 provider_error, not a 500', async (status) => {
    const res = await call('odd-2', { model: status }, { provider: 'vllm' });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('provider_error');
  });

  test('drops a response header that holds the key, on an answer and on an error, and keeps the others', async () => {
    for (const [model, status] of [['echo-key', 200], ['echo-key-error', 400]] as const) {
      const res = await call('hdr-3', { model });
      expect(res.status).toBe(status);
      await res.text();
      expect(res.headers.get('x-debug-auth')).toBeNull();
      expect(res.headers.get('x-request-id')).toBe('req-1');
    }
  });

  test('redacts the values of extraHeaders from an error body as it does the key', async () => {
    const res = await call('hdr-4', { model: 'echo-gateway-secret' }, { provider: 'custom' });
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).toContain('bad gateway auth');
    expect(text).not.toContain('ZYXWVUTSRQPONMLK');
    // Only whole values are secrets: a URL that shares its start with the referer stays, as does a header holding one.
    expect(text).toContain('see https://docs.example.com/auth');
    expect(res.headers.get('link')).toBe('<https://docs.example.com/auth>; rel="help"');
  });

  test('reads 64 KiB of an endless error body and cancels the rest', async () => {
    endlessErrorCancelled = Promise.withResolvers<void>();
    const res = await call('err-5', { model: 'endless-error' });
    expect(res.status).toBe(500);
    expect((await res.text()).length).toBe(64 * 1024);
    await endlessErrorCancelled.promise;
  });

  test('stops waiting for a stalled error body at the upstream timeout, passing on what came', async () => {
    const res = await call('err-6', { model: 'stalled-error' });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":');
  });

  test('asks for usage for any truthy `stream`, which lenient servers stream for', async () => {
    for (const [user, stream] of [['len-7', 1], ['len-8', 'true']] as const) {
      await (await call(user, { model: 'lenient', stream })).text();
      expect(forwarded.at(-1)?.stream_options).toEqual({ include_usage: true });
      await eventually(() => today(user) !== undefined);
      expect(today(user)).toEqual({ requests: 1, promptTokens: 1000, completionTokens: 2000 });
    }
  });

  test('a provider that breaks off mid-stream: the agent sees the stream cut, onError one line without the address, usage estimated', async () => {
    errors.length = 0;
    const res = await call('cut-9', { model: 'cut', stream: true }, { provider: 'vllm' });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes(' answer')) seen += new TextDecoder().decode((await reader.read()).value);
    // The provider ends its connection in the middle of the chunked body.
    cutConnection?.end();
    const outcome = await (async () => {
      while (!(await reader.read()).done);
    })().then(() => 'ended', () => 'cut');
    expect(outcome).toBe('cut');
    await eventually(() => today('cut-9') !== undefined);
    expect(today('cut-9')?.completionTokens).toBe(estimateTokens('Half an answer'.length));
    expect(today('cut-9')?.promptTokens).toBeGreaterThan(0);
    expect(errors).toHaveLength(1);
    const message = errors[0] instanceof Error ? errors[0].message : '';
    expect(message).toBe("The vllm provider's answer broke off: ECONNRESET");
  });
});

describe('the relay and a student who pushes', () => {
  test('a Content-Length given twice does not get a body past RELAY_MAX_BODY_BYTES: it is counted as it comes, 413', async () => {
    const before = forwarded.length;
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] });
    const res = await rawRequest(
      relay.port,
      `POST /llm/openai/v1/chat/completions HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${relayKey(SECRET, 'twice-9')}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      { body: [body] },
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
    expect(forwarded.length).toBe(before);
  });

  test('a stream the student stops early is counted, by estimate, not as nothing', async () => {
    const controller = new AbortController();
    const res = await call('stop-10', { model: 'hold', stream: true }, { signal: controller.signal });
    const { cancelled } = held.at(-1) as Held;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain(HELD_TEXT);
    controller.abort();
    await cancelled;
    await eventually(() => today('stop-10') !== undefined);
    const sent = JSON.stringify(forwarded.at(-1));
    expect(today('stop-10')).toEqual({ requests: 1, promptTokens: estimateTokens(sent.length), completionTokens: estimateTokens(HELD_TEXT.length) });
  });

  test(`at most ${MAX_CALLS_IN_FLIGHT} calls of a student at once: the next is refused before its body is read; slots come back as answers end`, async () => {
    const calls = [];
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT; i += 1) calls.push(await holdOne('tabs-11'));

    const refused = await unfinishedBody('tabs-11');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'llm_rate_limited', scope: 'student' });
    // Another student is not held up.
    expect((await call('other-12', { model: 'm' })).status).toBe(200);

    // One student stops an answer, one answer ends: their slots come back.
    await calls[0]?.res.body?.cancel();
    await calls[0]?.held.cancelled;
    calls[1]?.held.release();
    await calls[1]?.res.text();
    // A body refused (400) gives its slot back at once.
    const bad = await fetch(`${relay.url}/llm/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${relayKey(SECRET, 'tabs-11')}` }, body: '[' });
    expect(bad.status).toBe(400);
    const again = await Promise.all([call('tabs-11', { model: 'm' }), call('tabs-11', { model: 'm' })]);
    expect(again.map((r) => r.status)).toEqual([200, 200]);
    await Promise.all(again.map((r) => r.text()));

    for (const c of calls.slice(2)) c.held.release();
    await Promise.all(calls.slice(2).map((c) => c.res.text()));
    const all = await Promise.all(Array.from({ length: MAX_CALLS_IN_FLIGHT }, () => call('tabs-11', { model: 'm' })));
    expect(all.map((r) => r.status)).toEqual(Array(MAX_CALLS_IN_FLIGHT).fill(200));
    await Promise.all(all.map((r) => r.text()));
  });

  test('a student over the daily budget is refused before the body is read', async () => {
    relay.store.record('spent-13', 'openai', { model: 'm', promptTokens: 1000, completionTokens: 0 });
    const refused = await unfinishedBody('spent-13');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'llm_quota', scope: 'student' });
  });

  test('JSON nested too deep to write out again is a 400 invalid_json, and costs no request of the minute', async () => {
    const limited = await startTestRelay({
      providers: { openai: { apiKey: OPENAI_KEY, apiBase: `http://127.0.0.1:${provider.port}/v1` } },
      secret: SECRET,
      limits: { requestsPerMinute: 1 },
      maxBodyBytes: 1024 * 1024,
    });
    try {
      const post = (body: string) =>
        fetch(`${limited.url}/llm/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${relayKey(SECRET, 'deep-14')}` }, body });
      const deep = await post(`{"model":"m","a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
      expect(deep.status).toBe(400);
      expect((await errorOf(deep)).code).toBe('invalid_json');
      expect((await post('{"model":"m","messages":[]}')).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
