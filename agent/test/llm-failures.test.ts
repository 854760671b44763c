/** What the student and the operator see when the model fails: a clear error with a code, a JSON log line, and no long wait. */
import { afterAll, afterEach, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { startFakeLlm, type FakeLlm, type FakeReply } from './fake-llm.ts';
import { fakeConfig, postJson, readSse, startTestAgent, type TestAgent } from './helpers.ts';

const KEY = 'sk-test-SECRETKEY0123456789';
const QUESTION = 'my private question about fractions';

let llm: FakeLlm;
let agent: TestAgent;
let script: FakeReply[] = [];
let logged: string[] = [];
let errorSpy: ReturnType<typeof spyOn>;

beforeAll(async () => {
  llm = startFakeLlm({ respond: () => script.shift() });
  const config = fakeConfig(llm.url, { llmTimeoutSeconds: 1, llmFirstTokenSeconds: 0.6 });
  config.providers.custom.apiKey = KEY;
  agent = await startTestAgent({ config });
  errorSpy = spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  });
});
afterEach(() => {
  script = [];
  logged = [];
});
afterAll(async () => {
  errorSpy.mockRestore();
  await agent.stop();
  await llm.stop();
});

type Failure = { error: string; code: string };

/** The one JSON line logged for an LLM failure. */
function failureLog(): Record<string, unknown> {
  const lines = logged.filter((line) => line.includes('"llm_failed"'));
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  expect(line).not.toContain(KEY);
  expect(line).not.toContain(QUESTION);
  return JSON.parse(line) as Record<string, unknown>;
}

async function lastTurn(session: string) {
  const { sessions } = (await (await agent.fetch('/sessions', { headers: { 'X-Session-ID': session } })).json()) as {
    sessions: Array<{ session_id: string; messages: Array<Record<string, unknown>> }>;
  };
  return sessions.find((s) => s.session_id === session)?.messages ?? [];
}

describe('LLM failures', () => {
  test('a 401 is a 502 llm_failed, logged as one JSON line with provider, model and status but no key or question', async () => {
    script = [{ error: { status: 401, message: `Incorrect API key provided: ${KEY}` } }];
    const response = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'unauthorised' }));
    expect(response.status).toBe(502);
    const body = (await response.json()) as Failure;
    expect(body.code).toBe('llm_failed');
    expect(body.error).toContain('Incorrect API key');
    expect(body.error).not.toContain(KEY);
    expect(failureLog()).toMatchObject({ level: 'error', event: 'llm_failed', provider: 'custom', model: 'fake-tutor', status: 401, code: 'llm_failed' });
    const turn = await lastTurn('unauthorised');
    expect(turn.map((m) => m.content)).toEqual([QUESTION, '']);
    expect(turn[1]).toMatchObject({ status: 'error', code: 'llm_failed' });
  });

  test('the gateway relay\'s used-up allowance is a 429 llm_quota with its sentence and when it resets', async () => {
    const message = "You have used today's tutoring allowance; it resets at 2030-01-03 00:00 UTC.";
    script = [{ error: { status: 429, message, code: 'llm_quota', extra: { resets_at: '2030-01-03T00:00:00.000Z' } } }];
    const response = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'quota' }));
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: message, code: 'llm_quota', resetsAt: '2030-01-03T00:00:00.000Z' });
  });

  test('the relay\'s class-wide refusal keeps its scope, and its per-minute limit is a 429 llm_rate_limited, the question kept', async () => {
    const classMessage = "The class has used today's tutoring allowance; it resets at 2030-01-03 00:00 UTC.";
    script = [{ error: { status: 429, message: classMessage, code: 'llm_quota', extra: { resets_at: '2030-01-03T00:00:00.000Z', scope: 'class' } } }];
    const refused = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'class-quota' }));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: classMessage, code: 'llm_quota', resetsAt: '2030-01-03T00:00:00.000Z', scope: 'class' });

    const fast = 'You are asking your tutor faster than your school allows. Please wait a minute and try again.';
    script = [{ error: { status: 429, message: fast, code: 'llm_rate_limited', extra: { resets_at: '2030-01-02T10:01:00.000Z', scope: 'student' } } }];
    const limited = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'too-fast' }));
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ error: fast, code: 'llm_rate_limited', resetsAt: '2030-01-02T10:01:00.000Z', scope: 'student' });
    expect((await lastTurn('too-fast'))[1]).toMatchObject({ status: 'error', code: 'llm_rate_limited' });
  });

  test('a 500 (retried once by the SDK) is a 502 llm_failed with the status logged', async () => {
    script = [{ error: { status: 500, message: 'upstream exploded' } }, { error: { status: 500, message: 'upstream exploded' } }];
    const response = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'server-error' }));
    expect(response.status).toBe(502);
    expect(((await response.json()) as Failure).code).toBe('llm_failed');
    expect(failureLog()).toMatchObject({ status: 500, error: expect.stringContaining('upstream exploded') });
  });

  test('a provider that never answers ends in llm_timeout after llmTimeoutSeconds, not minutes', async () => {
    script = [{ stallMs: 20_000 }];
    const started = Date.now();
    const response = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'hang' }));
    const waited = Date.now() - started;
    expect(response.status).toBe(502);
    const body = (await response.json()) as Failure;
    expect(body.code).toBe('llm_timeout');
    expect(body.error).toContain('1 second');
    expect(waited).toBeLessThan(10_000);
    expect(failureLog()).toMatchObject({ code: 'llm_timeout', status: null });
    expect((await lastTurn('hang'))[1]).toMatchObject({ status: 'error', code: 'llm_timeout' });
  });

  test('a stream whose first chunk does not come within llmFirstTokenSeconds ends in llm_timeout', async () => {
    script = [{ stallMs: 20_000 }];
    const response = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'hang-stream', Accept: 'text/event-stream' }));
    expect(response.status).toBe(502);
    const body = (await response.json()) as Failure;
    expect(body.code).toBe('llm_timeout');
    expect(body.error).toContain('did not start answering within 0.6 seconds');
  });

  test('a stream that stalls after its first text ends with an error event carrying the code', async () => {
    script = [{ text: 'Half an answer and then nothing more for a long while', delayMs: 200 }];
    const response = await agent.fetch('/chat', postJson({ message: QUESTION }, { 'X-Session-ID': 'stall-late', Accept: 'text/event-stream' }));
    const events = await readSse(response);
    expect(events.at(-1)).toEqual({ event: 'error', data: { error: expect.stringContaining('did not finish'), code: 'llm_timeout' } });
    const turn = await lastTurn('stall-late');
    expect(turn[1]).toMatchObject({ status: 'error', code: 'llm_timeout' });
    expect(String(turn[1]?.content).length).toBeGreaterThan(0);
  });

  test('a broken apiBase (connection refused) is a 502 that says the provider could not be reached', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
    const port = closed.port;
    await closed.stop(true);
    const unreachable = await startTestAgent({ config: fakeConfig(`http://127.0.0.1:${port}/v1`) });
    try {
      const response = await unreachable.fetch('/chat', postJson({ message: QUESTION }));
      expect(response.status).toBe(502);
      const body = (await response.json()) as Failure;
      expect(body.code).toBe('llm_failed');
      expect(body.error).toContain('custom provider failed');
      expect(body.error).toMatch(/connect/i);
      expect(failureLog()).toMatchObject({ provider: 'custom', status: null });
    } finally {
      await unreachable.stop();
    }
  }, 30_000);
});
