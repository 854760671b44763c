/**
 * Token usage read from a provider's answer as it streams past, without holding up a byte:
 * OpenAI-compatible answers carry `usage` in the JSON body or (asked for with
 * `stream_options.include_usage`) in the last chunk; Anthropic's carry it in `message_start`
 * and, cumulatively for the output, in `message_delta`.
 */
import type { ProviderKind } from './providers.ts';

export type Usage = { model: string; promptTokens: number; completionTokens: number };

/** A non-streamed answer is parsed whole; bigger ones are passed on but not counted. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
const record = (value: unknown): Record<string, unknown> | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** Folds one JSON object of an answer (a whole body or one stream event) into the usage so far. */
export function addUsage(kind: ProviderKind, usage: Usage, data: unknown): void {
  const body = record(data);
  if (!body) return;
  if (kind === 'openai') {
    if (typeof body.model === 'string' && body.model) usage.model = body.model;
    const u = record(body.usage);
    if (u) {
      usage.promptTokens = num(u.prompt_tokens);
      usage.completionTokens = num(u.completion_tokens);
    }
    return;
  }
  // Anthropic: a whole message, or the message_start / message_delta events of a stream.
  const message = record(body.message) ?? (body.type === 'message' ? body : undefined);
  if (message) {
    if (typeof message.model === 'string' && message.model) usage.model = message.model;
    const u = record(message.usage);
    if (u) {
      usage.promptTokens = num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
      usage.completionTokens = num(u.output_tokens);
    }
  }
  if (body.type === 'message_delta') {
    const u = record(body.usage);
    if (u && 'output_tokens' in u) usage.completionTokens = num(u.output_tokens);
  }
}

/** Reads usage from a body as it goes by: SSE event by event, JSON once complete. */
export class UsageMeter {
  readonly usage: Usage;
  private readonly decoder = new TextDecoder();
  private buffered = '';
  private jsonBytes = 0;
  private overflow = false;

  constructor(
    private readonly kind: ProviderKind,
    private readonly streamed: boolean,
    model: string,
  ) {
    this.usage = { model, promptTokens: 0, completionTokens: 0 };
  }

  push(chunk: Uint8Array): void {
    if (!this.streamed) {
      this.jsonBytes += chunk.byteLength;
      if (this.jsonBytes > MAX_JSON_BYTES) this.overflow = true;
      if (!this.overflow) this.buffered += this.decoder.decode(chunk, { stream: true });
      return;
    }
    this.buffered += this.decoder.decode(chunk, { stream: true });
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** Call once the body has ended (or was cut off): settles what is left. */
  end(): Usage {
    if (this.streamed) {
      this.line(this.buffered);
    } else if (!this.overflow) {
      this.buffered += this.decoder.decode();
      try {
        addUsage(this.kind, this.usage, JSON.parse(this.buffered));
      } catch {
        // Not JSON (or cut off): nothing to count.
      }
    }
    this.buffered = '';
    return this.usage;
  }

  private line(raw: string): void {
    const line = raw.trim();
    if (!line.startsWith('data:')) return;
    const data = line.slice('data:'.length).trim();
    if (!data.startsWith('{')) return;
    try {
      addUsage(this.kind, this.usage, JSON.parse(data));
    } catch {
      // A malformed event is the provider's problem; it is passed on untouched all the same.
    }
  }
}
