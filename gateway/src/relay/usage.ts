/**
 * Token usage read from a provider's answer as it streams past, without holding up a byte:
 * OpenAI-compatible answers carry `usage` in the JSON body or (asked for with
 * `stream_options.include_usage`) in the last chunk; Anthropic's carry it in `message_start` and,
 * cumulatively, in `message_delta`. An answer that reports no usage (a stream cut off by the student
 * or the provider, a body too big to parse, a server that ignores include_usage) is estimated
 * instead, so no answer is free: see `estimateTokens`.
 */
import type { ProviderKind } from './providers.ts';

export type Usage = { model: string; promptTokens: number; completionTokens: number };

/** A non-streamed answer is parsed whole; a bigger one is counted by its size. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/**
 * Tokens in so many characters when the provider did not say: about 4 characters of English per
 * token (the rule of thumb OpenAI gives), rounded up. Counted from the request body for the prompt,
 * and for the answer from the generated text seen in a stream (content, reasoning, tool-call
 * arguments) or from the bytes of a body that could not be read. Rough by design: it only has to
 * keep a cut-off answer from costing nothing.
 */
export const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

/** A run of base64 characters this long is an image (a `data:` URL, Anthropic's `source.data`), not text. */
const IMAGE_RUN = 1000;
/** An image's tokens when the provider did not say: about the most either API charges for one (Anthropic's ~1,600 for a 1,092 px square). */
const IMAGE_TOKENS = 1600;

const isBase64 = (code: number): boolean =>
  (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 43 || code === 47 || code === 61;

/**
 * The prompt's tokens from the request body: text at 4 characters a token, each image at
 * IMAGE_TOKENS. Counting a photo of homework by its base64 (a 1 MB photo: 330,000 "tokens") would
 * spend a student's day on one stopped answer. One pass, no regex, so no input can make it slow.
 */
export function estimatePromptTokens(body: string): number {
  let text = 0;
  let images = 0;
  let run = 0;
  for (let i = 0; i <= body.length; i += 1) {
    if (i < body.length && isBase64(body.charCodeAt(i))) {
      run += 1;
      continue;
    }
    if (run >= IMAGE_RUN) images += 1;
    else text += run;
    run = 0;
    if (i < body.length) text += 1;
  }
  return estimateTokens(text) + images * IMAGE_TOKENS;
}

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
const record = (value: unknown): Record<string, unknown> | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
const length = (value: unknown): number => (typeof value === 'string' ? value.length : 0);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Anthropic's input tokens: uncached, written to the cache and read from it. */
const inputTokens = (u: Record<string, unknown>): number => num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);

/** Characters of generated text in one stream event, for the estimate. */
function generatedChars(kind: ProviderKind, event: Record<string, unknown>): number {
  if (kind === 'anthropic') {
    const delta = record(event.delta);
    return delta ? length(delta.text) + length(delta.thinking) + length(delta.partial_json) : 0;
  }
  let chars = 0;
  for (const choice of list(event.choices)) {
    const delta = record(record(choice)?.delta);
    if (!delta) continue;
    chars += length(delta.content) + length(delta.reasoning_content);
    for (const call of list(delta.tool_calls)) chars += length(record(record(call)?.function)?.arguments);
  }
  return chars;
}

/** Reads usage from a body as it goes by: SSE event by event, JSON once complete. */
export class UsageMeter {
  readonly usage: Usage;
  private readonly decoder = new TextDecoder();
  private buffered = '';
  private bytes = 0;
  private overflow = false;
  /** Whether the provider reported each count; a count it did not is estimated at the end. */
  private promptReported = false;
  private completionReported = false;
  private generated = 0;

  constructor(
    private readonly kind: ProviderKind,
    private readonly streamed: boolean,
    model: string,
    /** The request body as forwarded, for the prompt's estimate. */
    private readonly requestBody: string,
  ) {
    this.usage = { model, promptTokens: 0, completionTokens: 0 };
  }

  push(chunk: Uint8Array): void {
    if (!this.streamed) {
      this.bytes += chunk.byteLength;
      if (this.bytes > MAX_JSON_BYTES) this.overflow = true;
      if (!this.overflow) this.buffered += this.decoder.decode(chunk, { stream: true });
      return;
    }
    this.buffered += this.decoder.decode(chunk, { stream: true });
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** Call once the body has ended (or was cut off): settles what is left, estimating what was not reported. */
  end(): Usage {
    if (this.streamed) {
      this.line(this.buffered);
    } else if (!this.overflow) {
      this.buffered += this.decoder.decode();
      try {
        this.add(JSON.parse(this.buffered));
      } catch {
        // Not JSON (or cut off): estimated below.
      }
    }
    this.buffered = '';
    if (!this.promptReported) this.usage.promptTokens = estimatePromptTokens(this.requestBody);
    if (!this.completionReported) {
      // Anthropic's message_start reports a first output count, which a cut-off stream never updates.
      this.usage.completionTokens = Math.max(this.usage.completionTokens, estimateTokens(this.streamed ? this.generated : this.bytes));
    }
    return this.usage;
  }

  /** Folds one JSON object of an answer (a whole body or one stream event) into the usage so far. */
  private add(data: unknown): void {
    const body = record(data);
    if (!body) return;
    if (this.streamed) this.generated += generatedChars(this.kind, body);
    if (this.kind === 'openai') {
      if (typeof body.model === 'string' && body.model) this.usage.model = body.model;
      const u = record(body.usage);
      if (u) {
        this.usage.promptTokens = num(u.prompt_tokens);
        this.usage.completionTokens = num(u.completion_tokens);
        this.promptReported = this.completionReported = true;
      }
      return;
    }
    // Anthropic: a whole message, or the message_start / message_delta events of a stream.
    const message = record(body.message) ?? (body.type === 'message' ? body : undefined);
    if (message) {
      if (typeof message.model === 'string' && message.model) this.usage.model = message.model;
      const u = record(message.usage);
      if (u) {
        this.usage.promptTokens = inputTokens(u);
        this.usage.completionTokens = num(u.output_tokens);
        this.promptReported = true;
        // message_start's output count is a first figure; message_delta brings the real one.
        this.completionReported = message === body;
      }
    }
    if (body.type === 'message_delta') {
      const u = record(body.usage);
      if (!u) return;
      if ('output_tokens' in u) {
        this.usage.completionTokens = num(u.output_tokens);
        this.completionReported = true;
      }
      // Cumulative input, which grows when server tools (web search) run: the later, larger count wins.
      const input = inputTokens(u);
      if (input > 0) {
        this.usage.promptTokens = Math.max(this.usage.promptTokens, input);
        this.promptReported = true;
      }
    }
  }

  private line(raw: string): void {
    const line = raw.trim();
    if (!line.startsWith('data:')) return;
    const data = line.slice('data:'.length).trim();
    if (!data.startsWith('{')) return;
    try {
      this.add(JSON.parse(data));
    } catch {
      // A malformed event is the provider's problem; it is passed on untouched all the same.
    }
  }
}
