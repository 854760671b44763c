/** The one interface the agent loop talks to, whatever the provider behind it. */

export type ToolCall = { id: string; name: string; arguments: string };

/** The image types both OpenAI-compatible vision models and Anthropic accept. */
export type ImageMediaType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';

/** An image for the model, already read and encoded. */
export type ImageInput = { mediaType: ImageMediaType; base64: string };

/** Messages in the OpenAI chat shape, which nanobot (through LiteLLM) also uses. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string; images?: ImageInput[] }
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
  /** Called for every streamed chunk, text or not (the first-token deadline watches it). */
  onChunk?: () => void;
  /** Aborts the call (the student pressed Stop, or a deadline passed). */
  signal?: AbortSignal;
};

export type ChatResult = { content: string; toolCalls: ToolCall[] };

export interface LlmProvider {
  chat(request: ChatRequest): Promise<ChatResult>;
}

export type LlmErrorCode = 'llm_failed' | 'llm_timeout' | 'no_vision' | RelayRefusalCode;

/** The gateway relay's refusals: a daily allowance used up, or too many calls in a minute. */
export type RelayRefusalCode = 'llm_quota' | 'llm_rate_limited';
const RELAY_REFUSALS: readonly string[] = ['llm_quota', 'llm_rate_limited'] satisfies RelayRefusalCode[];

/** Whose allowance the relay refused on: the student's own, or the whole class's. */
export type RefusalScope = 'student' | 'class';

/** A provider call that failed; the message is safe to show to the student. */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly code: LlmErrorCode = 'llm_failed',
    /** The provider's HTTP status, when it answered at all. */
    readonly status?: number,
    /** For the relay's refusals: when asking again can succeed (ISO 8601), and whose allowance it was, as the relay said. */
    readonly refusal?: { resetsAt?: string; scope?: RefusalScope },
  ) {
    super(message);
  }
}

export type RelayRefusal = { code: RelayRefusalCode; message: string; resetsAt?: string; scope?: RefusalScope };

/**
 * The gateway's LLM relay refusing (429): its message is meant for the student. In an SDK error,
 * `error` is the body's `error` (OpenAI) or the whole body (Anthropic).
 */
export function relayRefusal(error: unknown): RelayRefusal | undefined {
  if (!error || typeof error !== 'object' || !('status' in error) || error.status !== 429 || !('error' in error)) return undefined;
  const body = error.error as { error?: unknown } | null;
  const inner = (body?.error && typeof body.error === 'object' ? body.error : body) as { code?: unknown; message?: unknown; resets_at?: unknown; scope?: unknown } | null;
  if (typeof inner?.code !== 'string' || !RELAY_REFUSALS.includes(inner.code) || typeof inner.message !== 'string') return undefined;
  return {
    code: inner.code as RelayRefusalCode,
    message: inner.message,
    ...(typeof inner.resets_at === 'string' ? { resetsAt: inner.resets_at } : {}),
    ...(inner.scope === 'student' || inner.scope === 'class' ? { scope: inner.scope } : {}),
  };
}

/** The call was abandoned because the client went away or pressed Stop. */
export class StoppedError extends Error {
  constructor() {
    super('the answer was stopped');
  }
}
