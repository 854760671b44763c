/**
 * The student's side of a used-up LLM allowance (issue 13): the gateway's real relay refuses with
 * 429, the real reference agent passes it on, the web app's chat route and browser client turn it
 * into the sentence, and the chat view shows it, also after a reload from the stored session.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { fakeConfig, startTestAgent, type TestAgent } from '../../agent/test/helpers.ts';
import { relayKey } from '../../gateway/src/relay/keys.ts';
import { startTestRelay, type TestRelay } from '../../gateway/test/test-relay.ts';
import { fromStored } from '../components/sessions.ts';
import { handleChat } from '../lib/api/chat.ts';
import type { ApiHandler } from '../lib/api/handler.ts';
import { agentRoute } from './agent-route.ts';
import { renderChat } from './render-chat.tsx';
import { handleListSessions } from '../lib/api/sessions.ts';
import { ApiError, streamChat } from '../lib/client/api.ts';

const SECRET = 'quota-test-relay-secret';
const USER = 'ada';
const SESSION = '7a1c2e3f-4b5d-4e6f-8a9b-0c1d2e3f4a5b';
const SENTENCE = "You have used today's tutoring allowance; it resets at 00:00 UTC.";

let llm: FakeLlm;
let relay: TestRelay;
let agent: TestAgent;

beforeAll(async () => {
  llm = startFakeLlm({ port: 0, hostname: '127.0.0.1' });
  relay = await startTestRelay({
    providers: { custom: { apiKey: 'sk-real-key-0123456789', apiBase: llm.url } },
    secret: SECRET,
    limits: { tokensPerDay: 10 },
    maxBodyBytes: 1024 * 1024,
  });
  // Ada has used her 10 tokens today.
  relay.store.record(USER, 'custom', { model: 'fake-tutor', promptTokens: 8, completionTokens: 4 });
  // The agent's keyless config as the gateway writes it: its relay key, the relay as apiBase.
  const config = fakeConfig(`${relay.url}/llm/custom/v1`);
  config.providers.custom.apiKey = relayKey(SECRET, USER);
  agent = await startTestAgent({ config });
});

afterAll(async () => {
  await agent?.stop();
  await relay?.stop();
  await llm?.stop();
});

const route = (handler: ApiHandler) => agentRoute(handler, () => agent.url, USER);

const chatRequest = (init: RequestInit = {}) =>
  new Request('http://web.test/api/chat', {
    method: 'POST',
    ...init,
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-Session-ID': SESSION, ...(init.headers as Record<string, string>) },
    body: init.body ?? JSON.stringify({ message: 'What is energy?' }),
  });

const noop = () => {};

test('the chat route answers 429 with the sentence and when the allowance resets; the provider is never called', async () => {
  const response = await route(handleChat)(chatRequest());
  expect(response.status).toBe(429);
  expect(await response.json()).toEqual({ error: SENTENCE, code: 'quota', reason: 'llm_quota' });
  expect(llm.requests).toHaveLength(0);
});

test('the browser client raises it as the error the chat view shows under the question', async () => {
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) =>
    String(input) === '/api/chat' ? route(handleChat)(chatRequest(init)) : original(input, init)) as typeof fetch;
  let error: unknown;
  try {
    await streamChat({ message: 'And what is power?' }, SESSION, noop, new AbortController().signal);
  } catch (caught) {
    error = caught;
  } finally {
    globalThis.fetch = original;
  }
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ message: SENTENCE, code: 'quota', reason: 'llm_quota', stored: true });

  // What useTutor makes of it: the answer marked failed with the error's message.
  const html = renderChat({
    id: SESSION,
    title: 'Energy',
    messages: [{ id: 'q', role: 'user', content: 'And what is power?' }, { id: 'a', role: 'assistant', content: '', status: 'error', error: (error as ApiError).message, stored: true }],
  });
  expect(html).toContain('role="alert"');
  expect(html).toContain('You have used today&#x27;s tutoring allowance; it resets at 00:00 UTC.');
});

test('after a reload the stored session still shows the question and the sentence', async () => {
  const { sessions } = await (await route(handleListSessions)(new Request('http://web.test/api/sessions'))).json();
  const session = fromStored(sessions.find((s: { session_id?: string; id?: string }) => (s.session_id ?? s.id) === SESSION));
  const failed = session.messages.filter((m) => m.status === 'error');
  expect(failed.length).toBeGreaterThan(0);
  for (const message of failed) expect(message.error).toContain("You have used today's tutoring allowance; it resets at");
  const html = renderChat(session);
  expect(html).toContain('What is energy?');
  expect(html).toContain('You have used today&#x27;s tutoring allowance; it resets at');
});

/** A second relay and agent for `student`, with other limits, so the tests above keep theirs. */
async function refusedBy(limits: { globalTokensPerDay?: number; requestsPerMinute?: number }, student: string) {
  const other = await startTestRelay({
    providers: { custom: { apiKey: 'sk-real-key-0123456789', apiBase: llm.url } },
    secret: SECRET,
    limits,
    maxBodyBytes: 1024 * 1024,
  });
  const config = fakeConfig(`${other.url}/llm/custom/v1`);
  config.providers.custom.apiKey = relayKey(SECRET, student);
  const tutor = await startTestAgent({ config });
  const chat = () => agentRoute(handleChat, () => tutor.url, student)(chatRequest({ headers: { 'X-Session-ID': crypto.randomUUID() } }));
  return { relay: other, chat, stop: async () => (await tutor.stop(), await other.stop()) };
}

test('when the class\'s daily allowance is used up, the student is told it is the class\'s, not theirs', async () => {
  const { relay: other, chat, stop } = await refusedBy({ globalTokensPerDay: 10 }, 'bea');
  try {
    other.store.record('someone-else', 'custom', { model: 'fake-tutor', promptTokens: 8, completionTokens: 4 });
    const response = await chat();
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: "The class has used today's tutoring allowance; it resets at 00:00 UTC.", code: 'quota', reason: 'llm_quota' });
  } finally {
    await stop();
  }
});

test('asking faster than the per-minute limit is a 429 telling the student to wait, not "starting" (which the browser would resend)', async () => {
  const { chat, stop } = await refusedBy({ requestsPerMinute: 1 }, 'cy');
  try {
    // Two calls in one minute: a third covers a minute boundary passed between the first two.
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 3 && !refused; i += 1) {
      const response = await chat();
      statuses.push(response.status);
      if (response.status === 429) refused = response;
      else await response.text();
    }
    expect(statuses[0]).toBe(200);
    expect(refused).toBeDefined();
    expect(await refused!.json()).toEqual({
      error: 'You are asking your tutor faster than your school allows. Please wait a minute and try again.',
      code: 'quota',
      reason: 'llm_rate_limited',
    });
  } finally {
    await stop();
  }
});
