/** The relay's pure parts: keys, the agents' config, usage parsing, redaction. */
import { describe, expect, test } from 'bun:test';
import { deriveAgentConfig } from '../src/relay/agent-config.ts';
import { presentedKey, relayKey, relayKeyVerifier } from '../src/relay/keys.ts';
import { redactKey } from '../src/relay/relay-app.ts';
import { estimatePromptTokens, UsageMeter } from '../src/relay/usage.ts';

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
      anthropic: { api_key: 'sk-ant-real', extraHeaders: { 'x-team': 'a', 'cf-aig-authorization': 'Bearer cf-aig-secret-0123456789' } },
      openrouter: { apiKey: '' },
      custom: { apiKey: '', apiBase: 'http://llm.internal:8000/v1' },
    },
    agents: { defaults: { model: 'gpt-4o-mini', maxTokens: 4096 } },
    tools: { web: { search: { apiKey: 'search-key' } } },
  };
  const derived = deriveAgentConfig(admin, { key: 'nbr-ada.k', relayUrl: 'http://relay:8090' });

  test('replaces every configured provider\'s key, points its apiBase at the relay and leaves its extraHeaders to the relay', () => {
    expect(derived.providers).toEqual({
      openai: { apiKey: 'nbr-ada.k', apiBase: 'http://relay:8090/llm/openai/v1' },
      anthropic: { apiKey: 'nbr-ada.k', apiBase: 'http://relay:8090/llm/anthropic' },
      openrouter: { apiKey: '' },
      custom: { apiKey: 'nbr-ada.k', apiBase: 'http://relay:8090/llm/custom/v1' },
    });
    const text = JSON.stringify(derived.providers);
    expect(text).not.toContain('sk-real-openai');
    expect(text).not.toContain('sk-ant-real');
    expect(text).not.toContain('llm.internal');
    expect(text).not.toContain('cf-aig-secret');
  });

  test('keeps every other field, and leaves the admin\'s object as it was', () => {
    expect(derived.agents).toEqual(admin.agents);
    expect(derived.tools).toEqual(admin.tools);
    expect(admin.providers.openai.apiKey).toBe('sk-real-openai');
  });
});

const encode = (text: string) => new TextEncoder().encode(text);

/** Feeds text in awkward pieces, as a network would; the request it answers had `requestChars` characters. */
function meter(kind: 'openai' | 'anthropic', streamed: boolean, body: string, requestChars = 400) {
  const m = new UsageMeter(kind, streamed, 'asked-model', ' '.repeat(requestChars));
  for (let i = 0; i < body.length; i += 7) m.push(encode(body.slice(i, i + 7)));
  return m.end();
}

const sse = (events: object[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');

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
    const body = `${sse(chunks)}data: [DONE]\n\n`;
    expect(meter('openai', true, body)).toEqual({ model: 'm1', promptTokens: 5, completionTokens: 2 });
  });

  test('a stream without usage (cut off, or a server that ignores include_usage) is estimated: request and generated text at 4 characters a token', () => {
    const chunks = [
      { choices: [{ delta: { role: 'assistant', content: '' } }] },
      { choices: [{ delta: { content: 'x'.repeat(10) } }] },
      { choices: [{ delta: { reasoning_content: 'r'.repeat(5) } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: 'calculator', arguments: '{"a":' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] } }] },
    ];
    // 10 + 5 + 5 + 2 = 22 characters: 6 tokens; a 401-character request: 101.
    expect(meter('openai', true, `${sse(chunks)}data: {broken\n\n`, 401)).toEqual({ model: 'asked-model', promptTokens: 101, completionTokens: 6 });
  });

  test('a body that cannot be read is estimated by its bytes, and a broken one does not throw', () => {
    expect(meter('openai', false, '{"usage": ', 8)).toEqual({ model: 'asked-model', promptTokens: 2, completionTokens: 3 });
    expect(meter('anthropic', false, 'Bad Gateway', 0)).toEqual({ model: 'asked-model', promptTokens: 0, completionTokens: 3 });
  });

  test('an estimated prompt counts text by its length and each image (data: URL or Anthropic base64) as one image, not by its base64', () => {
    const photo = 'A'.repeat(1_400_000);
    const openai = JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is x?' }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${photo}` } }] }] });
    const anthropic = JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: photo } }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: photo } }] }] });
    expect(estimatePromptTokens(openai)).toBe(Math.ceil((openai.length - photo.length) / 4) + 1600);
    expect(estimatePromptTokens(anthropic)).toBe(Math.ceil((anthropic.length - 2 * photo.length) / 4) + 2 * 1600);
    // Short base64-like runs are words, counted as text.
    expect(estimatePromptTokens('abc def')).toBe(2);
    expect(estimatePromptTokens('')).toBe(0);
  });

  test('a body too big to parse is counted by its size, without being kept', () => {
    const m = new UsageMeter('openai', false, 'asked-model', ' '.repeat(40));
    const mib = new Uint8Array(1024 * 1024).fill(32);
    for (let i = 0; i < 5; i += 1) m.push(mib);
    expect(m.end()).toEqual({ model: 'asked-model', promptTokens: 10, completionTokens: (5 * 1024 * 1024) / 4 });
  });

  test('Anthropic, not streamed: input (cache included) and output tokens', () => {
    const body = JSON.stringify({ type: 'message', model: 'claude-x', content: [], usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 7 } });
    expect(meter('anthropic', false, body)).toEqual({ model: 'claude-x', promptTokens: 15, completionTokens: 7 });
  });

  const anthropicStream = (events: Array<Record<string, unknown>>) => events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
  const messageStart = { type: 'message_start', message: { model: 'claude-y', usage: { input_tokens: 20, output_tokens: 1 } } };

  test('Anthropic, streamed: message_start, then the cumulative output of message_delta', () => {
    const body = anthropicStream([
      messageStart,
      { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]);
    expect(meter('anthropic', true, body)).toEqual({ model: 'claude-y', promptTokens: 20, completionTokens: 9 });
  });

  test('Anthropic, streamed: the cumulative input of message_delta (server tools ran) wins when larger', () => {
    const delta = (usage: object) => anthropicStream([messageStart, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage }]);
    expect(meter('anthropic', true, delta({ input_tokens: 25000, cache_read_input_tokens: 100, output_tokens: 300 }))).toEqual({ model: 'claude-y', promptTokens: 25100, completionTokens: 300 });
    expect(meter('anthropic', true, delta({ input_tokens: 3, output_tokens: 300 }))).toEqual({ model: 'claude-y', promptTokens: 20, completionTokens: 300 });
  });

  test('Anthropic, cut off before message_delta: the input of message_start, the output estimated from the text seen', () => {
    const body = anthropicStream([
      messageStart,
      { type: 'content_block_delta', delta: { type: 'text_delta', text: 'x'.repeat(30) } },
      { type: 'content_block_delta', delta: { type: 'input_json_delta', partial_json: '{"q":"y"}' } },
    ]);
    // 30 + 9 = 39 characters: 10 tokens, more than message_start's first figure of 1.
    expect(meter('anthropic', true, body)).toEqual({ model: 'claude-y', promptTokens: 20, completionTokens: 10 });
  });
});

/** redactKey as it was, a regex: right, but quadratic over a long word; the reference for small texts. */
function redactByRegex(text: string, key: string): string {
  let out = text.split(key).join('[redacted]');
  for (const piece of key.length >= 16 ? [key.slice(0, 8), key.slice(-8)] : []) {
    out = out.replace(new RegExp(`[^\\s"']*${piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\s"']*`, 'g'), '[redacted]');
  }
  return out;
}

describe('redactKey', () => {
  const key = 'sk-proj-abcdefghijklmnop1234567890';

  test('removes the key and anything holding a piece of it', () => {
    const body = JSON.stringify({ error: { message: `Incorrect API key provided: ${key}. Also sk-proj-***7890 and sk-proj-abcdefgh***` } });
    const out = redactKey(body, key);
    expect(out).not.toContain(key);
    expect(out).not.toContain('34567890');
    expect(out).not.toContain('sk-proj-abcdefgh');
    expect(out).toContain('Incorrect API key provided');
  });

  test('redacts whole words, as the regex did, at the edges, between quotes, next to each other and inside pieces', () => {
    const [head, tail] = ['sk-proj-', '34567890'];
    const cases = [
      head,
      `${head}${tail}`,
      `x${head}y z`,
      `"${head}"'${tail}'`,
      `a ${tail}\t${tail}\n${head}b`,
      `${head}${head}${head}`,
      `sk-proj-sk-proj-abc ${tail.slice(1)} ${head.slice(0, 7)}`,
      `[redacted]${tail} ${key}${key}x`,
      `\u00a0${head}\u2028${tail}\u3000`,
      `${'w'.repeat(50)}${head}${'w'.repeat(50)} tail`,
    ];
    for (const text of cases) expect(redactKey(text, key)).toBe(redactByRegex(text, key));
    // A piece with a space in it (an extraHeaders value such as `Bearer …`) is found all the same.
    const bearer = 'Bearer cf-aig-secret-0123456789';
    for (const text of ['auth: Bearer cf-x', '"Bearer cf-aig-secret-0123456789"', 'x=Bearer cf-aig…23456789.']) {
      expect(redactKey(text, bearer)).toBe(redactByRegex(text, bearer));
    }
  });

  test('agrees with the regex on random texts made of separators and bits of the key', () => {
    const bits = [' ', '"', "'", '\n', 'x', 'sk-', 'proj-', 'sk-proj-', '3456', '7890', '34567890', key];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 500; i += 1) {
      const text = Array.from({ length: 1 + Math.floor(random() * 30) }, () => bits[Math.floor(random() * bits.length)]).join('');
      expect(redactKey(text, key)).toBe(redactByRegex(text, key));
    }
  });

  test('gets through a 1 MiB word full of pieces and a 1 MiB word without one (the regex took seconds over 64 KiB)', () => {
    const full = 'sk-proj-'.repeat(128 * 1024);
    expect(redactKey(full, key)).toBe('[redacted]');
    const none = `{"error":"The model \`${'a'.repeat(1024 * 1024)}\` does not exist, sk-proj-***"}`;
    expect(redactKey(none, key)).toBe(`{"error":"The model \`${'a'.repeat(1024 * 1024)}\` does not exist, [redacted]"}`);
  });
});
