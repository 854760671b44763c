/** The Anthropic provider against a small fake of the Messages API's event stream. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createAnthropicProvider } from '../src/llm/anthropic.ts';
import { createProvider } from '../src/llm/index.ts';
import { LlmError } from '../src/llm/provider.ts';

type Body = { model: string; system: string; messages: Array<{ role: string; content: unknown }>; tools?: Array<{ name: string }> };

const received: Body[] = [];
let server: ReturnType<typeof Bun.serve>;

function events(list: Array<[string, unknown]>): string {
  return list.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('');
}

const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } };

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const body = (await req.json()) as Body;
      received.push(body);
      if (body.model === 'broken') return Response.json({ type: 'error', error: { type: 'invalid_request_error', message: 'no such model' } }, { status: 400 });
      const stream = body.tools?.length
        ? events([
            ['message_start', { type: 'message_start', message }],
            ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
            ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me ' } }],
            ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'check.' } }],
            ['content_block_stop', { type: 'content_block_stop', index: 0 }],
            ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'list_dir', input: {} } }],
            ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"path":' } }],
            ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"files_uploaded"}' } }],
            ['content_block_stop', { type: 'content_block_stop', index: 1 }],
            ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 5 } }],
            ['message_stop', { type: 'message_stop' }],
          ])
        : events([
            ['message_start', { type: 'message_start', message }],
            ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
            ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '$a^2+b^2=c^2$' } }],
            ['content_block_stop', { type: 'content_block_stop', index: 0 }],
            ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }],
            ['message_stop', { type: 'message_stop' }],
          ]);
      return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
    },
  });
});
afterAll(() => server.stop(true));

describe('the Anthropic provider', () => {
  const provider = () => createAnthropicProvider({ apiKey: 'sk-ant-test', apiBase: `http://127.0.0.1:${server.port}` });
  const base = { model: 'claude-test', maxTokens: 100, temperature: 0 };

  test('streams text and returns tool calls with their arguments', async () => {
    const deltas: string[] = [];
    const result = await provider().chat({
      ...base,
      messages: [{ role: 'system', content: 'You are a tutor.' }, { role: 'user', content: 'What did I upload?' }],
      tools: [{ name: 'list_dir', description: 'List files', parameters: { type: 'object', properties: {} } }],
      onDelta: (text) => deltas.push(text),
    });
    expect(deltas.join('')).toBe('Let me check.');
    expect(result).toEqual({ content: 'Let me check.', toolCalls: [{ id: 'toolu_1', name: 'list_dir', arguments: '{"path":"files_uploaded"}' }] });
    expect(received.at(-1)?.system).toBe('You are a tutor.');
    expect(received.at(-1)?.messages).toEqual([{ role: 'user', content: 'What did I upload?' }]);
  });

  test('sends tool results back inside a user turn', async () => {
    const result = await provider().chat({
      ...base,
      messages: [
        { role: 'system', content: 'You are a tutor.' },
        { role: 'user', content: 'What did I upload?' },
        { role: 'assistant', content: 'Let me check.', toolCalls: [{ id: 'toolu_1', name: 'list_dir', arguments: '{"path":"files_uploaded"}' }] },
        { role: 'tool', toolCallId: 'toolu_1', name: 'list_dir', content: 'files_uploaded/notes.pdf' },
      ],
    });
    expect(result).toEqual({ content: '$a^2+b^2=c^2$', toolCalls: [] });
    expect(received.at(-1)?.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'list_dir', input: { path: 'files_uploaded' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'files_uploaded/notes.pdf' }] },
    ]);
  });

  test('sends images as base64 image blocks before the text', async () => {
    await provider().chat({ ...base, messages: [{ role: 'user', content: 'What is this?', images: [{ mediaType: 'image/png', base64: 'iVBORw0KGgo=' }] }] });
    expect(received.at(-1)?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'text', text: 'What is this?' },
        ],
      },
    ]);
  });

  test('behind createProvider, turns an API error into an LlmError that names the provider', async () => {
    const guarded = createProvider(
      { name: 'anthropic', kind: 'anthropic', apiKey: 'sk-ant-test', keyConfigured: true, apiBase: `http://127.0.0.1:${server.port}`, model: 'broken' },
      { llmTimeoutSeconds: 10, llmFirstTokenSeconds: 10 },
    );
    const failing = guarded.chat({ ...base, model: 'broken', messages: [{ role: 'user', content: 'hi' }] });
    await expect(failing).rejects.toBeInstanceOf(LlmError);
    await expect(guarded.chat({ ...base, model: 'broken', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(/anthropic provider failed.*no such model/);
  });
});
