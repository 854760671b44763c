/** The one interface the agent loop talks to, whatever the provider behind it. */

export type ToolCall = { id: string; name: string; arguments: string };

/** Messages in the OpenAI chat shape, which nanobot (through LiteLLM) also uses. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export type ToolDefinition = {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
};

export type ChatRequest = {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  model: string;
  maxTokens: number;
  temperature: number;
  /** Receives text as it arrives; when absent the provider may answer without streaming. */
  onDelta?: (text: string) => void;
};

export type ChatResult = { content: string; toolCalls: ToolCall[] };

export interface LlmProvider {
  chat(request: ChatRequest): Promise<ChatResult>;
}

/** A provider call that failed; the message is safe to show to the user. */
export class LlmError extends Error {}

/** The gateway's LLM relay refused: a daily allowance is used up. The message is the relay's, meant for the student. */
export class LlmQuotaError extends LlmError {
  constructor(
    message: string,
    readonly resetsAt: string | undefined,
  ) {
    super(message);
  }
}

/** The relay's refusal inside an SDK error: `error` is the body's `error` (OpenAI) or the whole body (Anthropic). */
function relayQuota(error: unknown): LlmQuotaError | undefined {
  if (!error || typeof error !== 'object' || !('status' in error) || error.status !== 429 || !('error' in error)) return undefined;
  const body = error.error as { code?: unknown; message?: unknown; resets_at?: unknown; error?: unknown } | null;
  const inner = (body?.error && typeof body.error === 'object' ? body.error : body) as { code?: unknown; message?: unknown; resets_at?: unknown } | null;
  if (inner?.code !== 'llm_quota' || typeof inner.message !== 'string') return undefined;
  return new LlmQuotaError(inner.message, typeof inner.resets_at === 'string' ? inner.resets_at : undefined);
}

/** Turns an SDK error into a sentence without secrets or stack traces. */
export function describeLlmError(providerName: string, error: unknown): LlmError {
  const quota = relayQuota(error);
  if (quota) return quota;
  const detail = error instanceof Error ? error.message : String(error);
  return new LlmError(`The ${providerName} provider failed: ${detail}`);
}
