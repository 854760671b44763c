/** The relay's HTTP side against fake providers on real sockets (no Docker). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { relayKey } from '../src/relay/keys.ts';
import { MAX_CALLS_IN_FLIGHT, RelayLimits } from '../src/relay/limits.ts';
import type { UsageStore } from '../src/relay/store.ts';
import type { AgentRuntime } from '../src/runtime/types.ts';
import { testSettings, TOKEN, trustingUsers } from './helpers.ts';
import { rawRequest } from './raw-http.ts';
import { startTestRelay, type TestRelay } from './test-relay.ts';

const SECRET = 'relay-unit-secret';
const OPENAI_KEY = 'sk-test-openai-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-test-0123456789abcdef';

let llm: FakeLlm;
let anthropic: ReturnType<typeof Bun.serve>;
const anthropicSeen: Array<{ key: string | null; path: string }> = [];
let store: UsageStore;
let relay: TestRelay;
let base: string;

/** Just enough of Anthropic's Messages API: usage in a whole message or in a stream's events. */
function startFakeAnthropic() {
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      anthropicSeen.push({ key: req.headers.get('x-api-key'), path: url.pathname });
      const body = (await req.json()) as { stream?: boolean; model: string };
      if (body.model === 'leaky') {
        return Response.json({ type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${ANTHROPIC_KEY}` } }, { status: 401 });
      }
      if (!body.stream) {
        return Response.json({ type: 'message', model: body.model, content: [{ type: 'text', text: 'Hi' }], usage: { input_tokens: 3, output_tokens: 4 } });
      }
      const events = [
        { type: 'message_start', message: { model: body.model, usage: { input_tokens: 6, output_tokens: 1 } } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 8 } },
        { type: 'message_stop' },
      ];
      return new Response(events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''), { headers: { 'content-type': 'text/event-stream' } });
    },
  });
}

beforeAll(async () => {
  llm = startFakeLlm({ chunkDelayMs: 1 });
  anthropic = startFakeAnthropic();
  relay = await startTestRelay({
    providers: {
      openai: { apiKey: OPENAI_KEY, apiBase: llm.url },
      anthropic: { apiKey: ANTHROPIC_KEY, apiBase: `http://127.0.0.1:${anthropic.port}` },
      groq: { apiKey: '' },
    },
    secret: SECRET,
    limits: { tokensPerDay: 40 },
  });
  store = relay.store;
  base = relay.url;
});

afterAll(async () => {
  await relay?.stop();
  await llm?.stop();
  await anthropic?.stop(true);
});

const chat = (user: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${base}/llm/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${relayKey(SECRET, user)}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const hello = { model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }] };

describe('the relay', () => {
  test('forwards a chat with the real key, never the agent\'s, and counts its usage', async () => {
    const res = await chat('ada-1', hello);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: unknown }).usage).toBeDefined();
    expect(llm.apiKeys.at(-1)).toBe(OPENAI_KEY);
    expect(store.perUser().find((u) => u.userId === 'ada-1')?.today).toEqual({ requests: 1, promptTokens: 1, completionTokens: 1 });
  });

  test('streams, asking the provider for usage in the last chunk, and passes the chunks on as they come', async () => {
    const res = await chat('bea-2', { ...hello, stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk));
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.join('')).toContain('data: [DONE]');
    expect(llm.requests.at(-1)?.stream_options).toEqual({ include_usage: true });
    const today = store.perUser().find((u) => u.userId === 'bea-2')?.today;
    expect(today?.requests).toBe(1);
    expect(today?.completionTokens).toBeGreaterThan(1);
  });

  test.each(['h:99999', '[', 'h:80:80'])('answers a malformed Host %p with its JSON, never a 500 (the path is cut from the URL string)', async (host) => {
    const body = JSON.stringify(hello);
    const res = await rawRequest(
      relay.port,
      `POST /llm/openai/v1/chat/completions?x=1 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${relayKey(SECRET, 'host-4')}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      { body: [body] },
    );
    expect(res.status).toBe(200);
    expect(llm.requests.at(-1)?.model).toBe('gpt-test');
  });

  test('forwards Anthropic messages with x-api-key and counts streamed and whole answers', async () => {
    const call = (stream: boolean) =>
      fetch(`${base}/llm/anthropic/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': relayKey(SECRET, 'cy-3'), 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-test', max_tokens: 10, stream, messages: [{ role: 'user', content: 'hi' }] }),
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect((await call(false)).status).toBe(200);
    const streamed = await call(true);
    expect(streamed.text).toContain('message_delta');
    expect(anthropicSeen.map((s) => s.key)).toEqual([ANTHROPIC_KEY, ANTHROPIC_KEY]);
    expect(anthropicSeen[0]?.path).toBe('/v1/messages');
    expect(store.perUser().find((u) => u.userId === 'cy-3')?.today).toEqual({ requests: 2, promptTokens: 9, completionTokens: 12 });
  });

  test('refuses callers without a valid relay key', async () => {
    for (const authorization of ['', 'Bearer nope', `Bearer ${relayKey('another-secret', 'ada-1')}`, `Bearer ${OPENAI_KEY}`]) {
      const res = await chat('ada-1', hello, { authorization });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_relay_key');
    }
  });

  test('answers 404 for a provider that is unknown or not set up, and for paths it does not forward', async () => {
    const key = { authorization: `Bearer ${relayKey(SECRET, 'ada-1')}` };
    for (const path of ['/llm/nope/v1/chat/completions', '/llm/groq/v1/chat/completions', '/llm/openai/v1/files', '/llm/openai/chat/completions', '/elsewhere']) {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: key, body: '{}' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^(unknown_provider|unknown_path|not_found)$/);
    }
  });

  test('refuses a body over the limit with 413, and a body that is not JSON with 400', async () => {
    const big = await chat('ada-1', { ...hello, padding: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
    const bad = await fetch(`${base}/llm/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${relayKey(SECRET, 'ada-1')}` }, body: 'nope' });
    expect(bad.status).toBe(400);
  });

  test('counts a chunked body (no declared length) as it arrives: over the limit is 413, within it is forwarded', async () => {
    const chunked = (text: string) =>
      fetch(`${base}/llm/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${relayKey(SECRET, 'ada-1')}`, 'content-type': 'application/json' },
        body: new Blob([text]).stream(),
      });
    expect((await chunked(JSON.stringify({ ...hello, padding: 'x'.repeat(70 * 1024) }))).status).toBe(413);
    const small = await chunked(JSON.stringify(hello));
    expect(small.status).toBe(200);
    await small.text();
  });

  test('passes a provider\'s error on without the key in it', async () => {
    const res = await fetch(`${base}/llm/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': relayKey(SECRET, 'dan-4'), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'leaky', max_tokens: 1, messages: [] }),
    });
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).toContain('authentication_error');
    expect(text).not.toContain(ANTHROPIC_KEY);
  });

  test('a student over the daily budget gets 429 with when it resets; another student is unaffected', async () => {
    store.record('eve-5', 'openai', { model: 'm', promptTokens: 30, completionTokens: 10 });
    const res = await chat('eve-5', hello);
    expect(res.status).toBe(429);
    expect(res.headers.get('x-should-retry')).toBe('false');
    const { error } = (await res.json()) as { error: { code: string; message: string; resets_at: string; scope: string } };
    expect(error.code).toBe('llm_quota');
    expect(error.scope).toBe('student');
    expect(error.message).toContain("You have used today's tutoring allowance; it resets at");
    expect(new Date(error.resets_at).getUTCHours()).toBe(0);
    expect((await chat('fay-6', hello)).status).toBe(200);
  });
});

describe('RelayLimits', () => {
  test('requests per minute per student, and a global daily cap', () => {
    const limits = new RelayLimits({ tokensPerDay: 0, requestsPerMinute: 2, globalTokensPerDay: 50 }, store);
    const now = new Date('2030-01-02T10:00:05Z');
    expect(limits.check('gus-7', now)).toBeUndefined();
    expect(limits.check('gus-7', now)).toBeUndefined();
    expect(limits.check('gus-7', now)).toMatchObject({ code: 'llm_rate_limited', scope: 'student' });
    expect(limits.check('hal-8', now)).toBeUndefined();
    expect(limits.check('gus-7', new Date('2030-01-02T10:01:00Z'))).toBeUndefined();
    store.record('hal-8', 'openai', { model: 'm', promptTokens: 50, completionTokens: 0 }, now);
    const refusal = limits.check('ivy-9', now);
    expect(refusal).toMatchObject({ code: 'llm_quota', scope: 'class' });
    expect(refusal?.message).toContain('The class has used');
    expect(refusal?.resetsAt.toISOString()).toBe('2030-01-03T00:00:00.000Z');
  });

  test(`at most ${MAX_CALLS_IN_FLIGHT} calls of a student in flight; a call never forwarded gives its minute's count back`, () => {
    const limits = new RelayLimits({ tokensPerDay: 0, requestsPerMinute: MAX_CALLS_IN_FLIGHT + 1, globalTokensPerDay: 0 }, store);
    const now = new Date('2030-01-02T10:00:05Z');
    for (let i = 0; i < MAX_CALLS_IN_FLIGHT; i += 1) expect(limits.check('jo-10', now)).toBeUndefined();
    const refusal = limits.check('jo-10', now);
    expect(refusal).toMatchObject({ code: 'llm_rate_limited', scope: 'student' });
    expect(refusal?.resetsAt.getTime()).toBe(now.getTime() + 1000);
    expect(limits.check('kim-11', now)).toBeUndefined();
    // Two end: one answered, one whose body was refused (its count comes back).
    limits.release('jo-10', true);
    limits.release('jo-10', false);
    expect(limits.check('jo-10', now)).toBeUndefined();
    expect(limits.check('jo-10', now)).toBeUndefined();
    // Now the minute's count (5) is used up, whatever is in flight.
    limits.release('jo-10', true);
    expect(limits.check('jo-10', now)).toMatchObject({ code: 'llm_rate_limited', resetsAt: new Date('2030-01-02T10:01:00Z') });
  });
});

describe('GET /admin/usage', () => {
  const runtime: AgentRuntime = {
    ensure: async () => { throw new Error('unused'); },
    find: async () => undefined,
    stop: async () => {},
    remove: async () => {},
    locate: async () => undefined,
    list: async () => [],
    async *events() {},
    checkReady: async () => {},
    watchExit: () => new Promise(() => {}),
    revision: async () => 'r1',
  };
  const appWith = (env: Record<string, string>) =>
    createApp({ settings: testSettings(env), runtime, users: trustingUsers(), routes: new RouteTable(), usage: store, log: () => {} });

  test('shows usage per student and in total to ADMIN_TOKEN only', async () => {
    const app = appWith({ ADMIN_TOKEN: 'admin-secret-0123456789', RELAY_TOKENS_PER_DAY: '40' });
    const res = await app.request('/admin/usage', { headers: { Authorization: 'Bearer admin-secret-0123456789' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { limits: Record<string, unknown>; today: { requests: number }; students: Array<{ userId: string }>; models: unknown[] };
    expect(body.limits.tokensPerStudentPerDay).toBe(40);
    expect(body.students.map((s) => s.userId)).toContain('ada-1');
    expect(body.today.requests).toBeGreaterThan(0);
    expect(body.models.length).toBeGreaterThan(0);
    expect((await app.request('/admin/usage', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
  });

  test('does not exist without ADMIN_TOKEN', async () => {
    const res = await appWith({}).request('/admin/usage', { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
  });
});
