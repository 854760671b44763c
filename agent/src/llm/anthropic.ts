/** Anthropic's Messages API through its SDK, mapped onto the agent's OpenAI-shaped messages. */
import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import type { ChatMessage, ChatRequest, ChatResult, LlmProvider } from './provider.ts';

function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Anthropic wants the system prompt apart and tool results inside a user turn. */
function toAnthropic(messages: ChatMessage[]): { system: string; messages: MessageParam[] } {
  const system: string[] = [];
  const out: MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      system.push(message.content);
    } else if (message.role === 'user') {
      if (!message.images?.length) {
        out.push({ role: 'user', content: message.content });
        continue;
      }
      out.push({
        role: 'user',
        content: [
          ...message.images.map(
            (image): ContentBlockParam => ({
              type: 'image',
              source: { type: 'base64', media_type: image.mediaType, data: image.base64 },
            }),
          ),
          { type: 'text', text: message.content },
        ],
      });
    } else if (message.role === 'assistant') {
      const blocks: ContentBlockParam[] = [];
      if (message.content) blocks.push({ type: 'text', text: message.content });
      for (const call of message.toolCalls ?? []) {
        blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: parseArguments(call.arguments) });
      }
      out.push({ role: 'assistant', content: blocks });
    } else {
      const result = { type: 'tool_result' as const, tool_use_id: message.toolCallId, content: message.content };
      const last = out.at(-1);
      if (last?.role === 'user' && Array.isArray(last.content)) last.content.push(result);
      else out.push({ role: 'user', content: [result] });
    }
  }
  return { system: system.join('\n\n'), messages: out };
}

/** Errors are thrown as the SDK raised them; `guardProvider` turns them into sentences. */
export function createAnthropicProvider({ apiKey, apiBase }: { apiKey: string; apiBase?: string | undefined }): LlmProvider {
  const client = new Anthropic({ apiKey, baseURL: apiBase ?? null, maxRetries: 1 });
  return {
    async chat({ messages, tools, model, maxTokens, temperature, onDelta, onChunk, signal }: ChatRequest): Promise<ChatResult> {
      const converted = toAnthropic(messages);
      const body = {
        model,
        max_tokens: maxTokens,
        temperature,
        system: converted.system,
        messages: converted.messages,
        ...(tools?.length
          ? { tools: tools.map((t): Tool => ({ name: t.name, description: t.description, input_schema: t.parameters as Tool['input_schema'] })) }
          : {}),
      };
      const stream = client.messages.stream(body, signal ? { signal } : {});
      if (onChunk) stream.on('streamEvent', () => onChunk());
      if (onDelta) stream.on('text', (delta) => onDelta(delta));
      const message = await stream.finalMessage();
      let content = '';
      const toolCalls = [];
      for (const block of message.content) {
        if (block.type === 'text') content += block.text;
        if (block.type === 'tool_use') toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
      }
      return { content, toolCalls };
    },
  };
}
