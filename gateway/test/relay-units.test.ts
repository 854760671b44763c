/** The relay's pure parts: keys, the agents' config, usage parsing, redaction. */
import { describe, expect, test } from 'bun:test';
import { deriveAgentConfig } from '../src/relay/agent-config.ts';
import { presentedKey, relayKey, relayKeyVerifier } from '../src/relay/keys.ts';
import { redactKey } from '../src/relay/relay-app.ts';
import { UsageMeter } from '../src/relay/usage.ts';

const SECRET = 'unit-secret';
const verifyRelayKey = (secret: string, key: string) => relayKeyVerifier(secret)(key);

describe('relay keys', () => {
  test('name their user and verify under the same secret only', () => {
    const key = relayKey(SECRET, 'ada_example_edu-1a2b3c4d5e');
    expect(key).toMatch(/^nbr-ada_example_edu-1a2b3c4d5e\.[0-9a-f]{64}$/);
    expect(verifyRelayKey(SECRET, key)).toBe('ada_example_edu-1a2b3c4d5e');
    expect(verifyRelayKey('another-secret', key)).toBeUndefined();
  });

  test('cannot be moved to another user: the MAC covers the user id', () => {
    const ada = relayKey(SECRET, 'ada-1');
    const forged = ada.replace('nbr-ada-1.', 'nbr-bob-2.');
    expect(verifyRelayKey(SECRET, forged)).toBeUndefined();
  });

  test('refuse anything malformed', () => {
    for (const bad of ['', 'nbr-', 'sk-abc', `nbr-ADA.${'0'.repeat(64)}`, `nbr-ada.${'0'.repeat(63)}`, `${relayKey(SECRET, 'a')}x`]) {
      expect(verifyRelayKey(SECRET, bad)).toBeUndefined();
    }
  });

  test('verify the same way when the MAC is kept: a second look at a forged key still fails', () => {
    const verify = relayKeyVerifier(SECRET);
    const ada = relayKey(SECRET, 'ada-1');
    const forged = `${ada.slice(0, -1)}${ada.endsWith('0') ? '1' : '0'}`;
    expect(verify(forged)).toBeUndefined();
    expect(verify(ada)).toBe('ada-1');
    expect(verify(forged)).toBeUndefined();
    expect(verify(ada)).toBe('ada-1');
    expect(verify(relayKey('another-secret', 'ada-1'))).toBeUndefined();
  });

  test('are taken from a bearer token or from x-api-key', () => {
    expect(presentedKey(new Headers({ authorization: 'Bearer nbr-a.b' }))).toBe('nbr-a.b');
    expect(presentedKey(new Headers({ 'x-api-key': 'nbr-a.b' }))).toBe('nbr-a.b');
    expect(presentedKey(new Headers())).toBe('');
  });
});

describe('deriveAgentConfig', () => {
  const admin = {
    providers: {
      openai: { apiKey: 'sk-real-openai', apiBase: null },
      anthropic: { api_key: 'sk-ant-real', extraHeaders: { 'x-team': 'a' } },
      openrouter: { apiKey: '' },
      custom: { apiKey: '', apiBase: 'http://llm.internal:8000/v1' },
    },
    agents: { defaults: { model: 'gpt-4o-mini', maxTokens: 4096 } },
    tools: { web: { search: { apiKey: 'search-key' } } },
  };
  const derived = deriveAgentConfig(admin, { key: 'nbr-ada.k', relayUrl: 'http://relay:8090' });

  test('replaces every configured provider\'s key and points its apiBase at the relay', () => {
    expect(derived.providers).toEqual({
      openai: { apiKey: 'nbr-ada.k', apiBase: 'http://relay:8090/llm/openai/v1' },
      anthropic: { apiKey: 'nbr-ada.k', apiBase: 'http://relay:8090/llm/anthropic', extraHeaders: { 'x-team': 'a' } },
      openrouter: { apiKey: '' },
      custom: { apiKey: 'nbr-ada.k', apiBase: 'http://relay:8090/llm/custom/v1' },
    });
    const text = JSON.stringify(derived.providers);
    expect(text).not.toContain('sk-real-openai');
    expect(text).not.toContain('sk-ant-real');
    expect(text).not.toContain('llm.internal');
  });

  test('keeps every other field, and leaves the admin\'s object as it was', () => {
    expect(derived.agents).toEqual(admin.agents);
    expect(derived.tools).toEqual(admin.tools);
    expect(admin.providers.openai.apiKey).toBe('sk-real-openai');
  });
});

const encode = (text: string) => new TextEncoder().encode(text);

/** Feeds text in awkward pieces, as a network would. */
function meter(kind: 'openai' | 'anthropic', streamed: boolean, body: string) {
  const m = new UsageMeter(kind, streamed, 'asked-model');
  for (let i = 0; i < body.length; i += 7) m.push(encode(body.slice(i, i + 7)));
  return m.end();
}

describe('usage parsing', () => {
  test('OpenAI, not streamed: usage of the JSON body', () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini-2024', choices: [], usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 } });
    expect(meter('openai', false, body)).toEqual({ model: 'gpt-4o-mini-2024', promptTokens: 12, completionTokens: 34 });
  });

  test('OpenAI, streamed: the last chunk\'s usage', () => {
    const chunks = [
      { model: 'm1', choices: [{ delta: { content: 'Hi' } }] },
      { model: 'm1', choices: [{ delta: {} , finish_reason: 'stop' }] },
      { model: 'm1', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } },
    ];
    const body = `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
    expect(meter('openai', true, body)).toEqual({ model: 'm1', promptTokens: 5, completionTokens: 2 });
  });

  test('a stream without usage counts nothing, and a broken body does not throw', () => {
    expect(meter('openai', true, 'data: {"choices":[]}\n\ndata: {broken\n\n')).toEqual({ model: 'asked-model', promptTokens: 0, completionTokens: 0 });
    expect(meter('openai', false, '{"usage": ')).toEqual({ model: 'asked-model', promptTokens: 0, completionTokens: 0 });
  });

  test('Anthropic, not streamed: input (cache included) and output tokens', () => {
    const body = JSON.stringify({ type: 'message', model: 'claude-x', content: [], usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 7 } });
    expect(meter('anthropic', false, body)).toEqual({ model: 'claude-x', promptTokens: 15, completionTokens: 7 });
  });

  test('Anthropic, streamed: message_start, then the cumulative output of message_delta', () => {
    const events = [
      ['message_start', { type: 'message_start', message: { model: 'claude-y', usage: { input_tokens: 20, output_tokens: 1 } } }],
      ['content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hi' } }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }],
      ['message_stop', { type: 'message_stop' }],
    ] as const;
    const body = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join('');
    expect(meter('anthropic', true, body)).toEqual({ model: 'claude-y', promptTokens: 20, completionTokens: 9 });
  });
});

describe('redactKey', () => {
  test('removes the key and anything holding a piece of it', () => {
    const key = 'sk-proj-abcdefghijklmnop1234567890';
    const body = JSON.stringify({ error: { message: `Incorrect API key provided: ${key}. Also sk-proj-***7890 and sk-proj-abcdefgh***` } });
    const out = redactKey(body, key);
    expect(out).not.toContain(key);
    expect(out).not.toContain('34567890');
    expect(out).not.toContain('sk-proj-abcdefgh');
    expect(out).toContain('Incorrect API key provided');
  });
});
