import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { postJson, startTestAgent, type TestAgent } from './helpers.ts';

describe('an agent without an LLM provider', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startTestAgent();
  });
  afterAll(() => agent.stop());

  test('reports healthy', async () => {
    const response = await agent.fetch('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  test('answers chat with 503 and says what to put in config.json', async () => {
    const response = await agent.fetch('/chat', postJson({ message: 'hello' }));
    expect(response.status).toBe(503);
    const { error, code } = (await response.json()) as { error: string; code: string };
    expect(code).toBe('no_provider');
    expect(error).toContain('config.json');
    expect(error).toContain('providers.');
    expect(error).toContain('apiKey');
  });

  test('still serves files, memory and sessions', async () => {
    const files = (await (await agent.fetch('/files')).json()) as { files: string[] };
    expect(files.files).toEqual(['AGENTS.md', 'SOUL.md', 'USER.md', 'memory/MEMORY.md']);
    const memory = (await (await agent.fetch('/memory')).json()) as { memory: string; history: string };
    expect(memory.memory).toContain('# Long-term Memory');
    expect(memory.history).toBe('');
    // The question asked without a provider is kept, with the reason it was not answered.
    const { sessions } = (await (await agent.fetch('/sessions')).json()) as { sessions: Array<{ messages: Array<Record<string, unknown>> }> };
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.messages).toEqual([
      { id: expect.any(String), role: 'user', content: 'hello', timestamp: expect.any(String) },
      { id: expect.any(String), role: 'assistant', content: '', timestamp: expect.any(String), status: 'error', error: expect.stringContaining('config.json'), code: 'no_provider' },
    ]);
  });

  test('refuses a missing or empty message and invalid JSON with 400', async () => {
    for (const body of [{}, { message: '' }, { message: '   ' }, { message: 42 }]) {
      const response = await agent.fetch('/chat', postJson(body));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'message required', code: 'message_required' });
    }
    const invalid = await agent.fetch('/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"message":' });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({ error: 'invalid JSON', code: 'invalid_json' });
  });

  test('answers an unknown path with 404 JSON and a wrong method with 405 JSON', async () => {
    const missing = await agent.fetch('/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json');
    expect(await missing.json()).toEqual({ error: 'not found: /nope', code: 'not_found' });
    const wrong = await agent.fetch('/chat');
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toEqual({ error: 'method not allowed', code: 'method_not_allowed' });
    expect((await agent.fetch('/memory', { method: 'POST' })).status).toBe(405);
  });

  test('requires X-Session-ID to delete a session', async () => {
    const response = await agent.fetch('/sessions', { method: 'DELETE' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('X-Session-ID');
  });

  test('refuses session and user ids that are not safe in a file name', async () => {
    const bad = await agent.fetch('/sessions', { headers: { 'X-Session-ID': '../../etc' } });
    expect(bad.status).toBe(400);
    const badUser = await agent.fetch('/sessions', { headers: { 'X-User-ID': 'a/b' } });
    expect(badUser.status).toBe(400);
  });
});

describe('an agent with NANOBOT_HTTP_TOKEN', () => {
  let agent: TestAgent;
  beforeAll(async () => {
    agent = await startTestAgent({ token: 'secret-token' });
  });
  afterAll(() => agent.stop());

  test('answers /health without the token', async () => {
    expect((await agent.fetch('/health')).status).toBe(200);
    expect((await agent.fetch('/health', { method: 'POST' })).status).toBe(405);
  });

  test('refuses every other path without the right bearer token', async () => {
    const attempts: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic secret-token' }, { Authorization: 'secret-token' }];
    for (const headers of attempts) {
      for (const path of ['/files', '/memory', '/sessions', '/files/AGENTS.md', '/nope']) {
        const response = await agent.fetch(path, { headers });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toContain('Bearer');
        const body = (await response.json()) as { error: string; code: string };
        expect(body.error).toContain('token');
        expect(body.code).toBe('unauthorized');
      }
    }
    expect((await agent.fetch('/chat', postJson({ message: 'hi' }))).status).toBe(401);
  });

  test('serves requests that carry the token', async () => {
    const response = await agent.fetch('/files', { headers: { Authorization: 'Bearer secret-token' } });
    expect(response.status).toBe(200);
  });
});
