/** OpenAI-compatible providers (OpenAI, OpenRouter, DeepSeek, Groq, Ollama, vLLM…) through the OpenAI SDK. */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ChatMessage, ChatRequest, ChatResult, LlmProvider, ToolCall } from './provider.ts';

function toOpenAiMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? { tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'user':
      if (!message.images?.length) return { role: 'user', content: message.content };
      return {
        role: 'user',
        content: [
          { type: 'text', text: message.content },
          ...message.images.map((image) => ({ type: 'image_url' as const, image_url: { url: `data:${image.mediaType};base64,${image.base64}` } })),
        ],
      };
    default:
      return message;
  }
}

/** Errors are thrown as the SDK raised them; `guardProvider` turns them into sentences. */
export function createOpenAiProvider({ apiKey, apiBase }: { apiKey: string; apiBase?: string | undefined }): LlmProvider {
  const client = new OpenAI({ apiKey, baseURL: apiBase, maxRetries: 1 });
  return {
    async chat({ messages, tools, model, maxTokens, temperature, onDelta, onChunk, signal }: ChatRequest): Promise<ChatResult> {
      const body = {
        model,
        messages: messages.map(toOpenAiMessage),
        max_tokens: maxTokens,
        temperature,
        ...(tools?.length
          ? { tools: tools.map((t): ChatCompletionTool => ({ type: 'function', function: t })), tool_choice: 'auto' as const }
          : {}),
      };
      const options = signal ? { signal } : {};
      if (!onDelta) {
        const completion = await client.chat.completions.create(body, options);
        const message = completion.choices[0]?.message;
        const toolCalls: ToolCall[] = (message?.tool_calls ?? []).flatMap((call) =>
          call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
        );
        return { content: message?.content ?? '', toolCalls };
      }
      const stream = await client.chat.completions.create({ ...body, stream: true }, options);
      let content = '';
      const calls = new Map<number, ToolCall>();
      for await (const chunk of stream) {
        onChunk?.();
        const delta = chunk.choices[0]?.delta;
        if (!delta) continue;
        if (delta.content) {
          content += delta.content;
          onDelta(delta.content);
        }
        for (const part of delta.tool_calls ?? []) {
          // Tool calls arrive in pieces keyed by index: the id and name first, the arguments in fragments.
          const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.arguments += part.function.arguments;
          calls.set(part.index, call);
        }
      }
      return { content, toolCalls: [...calls.values()] };
    },
  };
}
