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

export type LlmErrorCode = 'llm_failed' | 'llm_timeout' | 'no_vision';

/** A provider call that failed; the message is safe to show to the student. */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly code: LlmErrorCode = 'llm_failed',
    /** The provider's HTTP status, when it answered at all. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The call was abandoned because the client went away or pressed Stop. */
export class StoppedError extends Error {
  constructor() {
    super('the answer was stopped');
  }
}
