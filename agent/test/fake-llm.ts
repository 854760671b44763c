/**
 * A small OpenAI-compatible LLM for tests: `/v1/chat/completions`, streaming and not, scripted tool
 * calls and errors. Without a script it answers deterministically (Markdown and `$E = mc^2$`; it says
 * so when the question came with images), answers nanobot's memory consolidation with a `save_memory`
 * tool call, and a message containing `calculate: <expression>` with a `calculator` call whose result
 * it then quotes.
 *
 * Standalone: `bun agent/test/fake-llm.ts --port 4010 --host 0.0.0.0 [--chunk-delay-ms 10]` (it imports nothing but Bun,
 * so the file alone can be mounted into a container).
 */

export type FakeToolCall = { name: string; arguments: Record<string, unknown> };

export type FakeReply = {
  text?: string;
  toolCalls?: FakeToolCall[];
  /** Answer with this HTTP error instead (4xx other than 408/409/429 are not retried by the SDKs). */
  error?: { status: number; message: string; code?: string; extra?: Record<string, unknown> };
  /** Pause between streamed chunks, and before a non-streamed answer. */
  delayMs?: number;
  /** Pause before answering at all (not even headers): a provider that hangs. */
  stallMs?: number;
  /** Answer only once this settles: a model that thinks until the test lets it finish. */
  holdUntil?: Promise<unknown>;
};

/** A user message with images arrives as parts: text, and `image_url` data URLs. */
export type FakeContentPart = { type: string; text?: string; image_url?: { url: string } };

export type FakeRequest = {
  model: string;
  stream: boolean;
  messages: Array<{ role: string; content?: string | null | FakeContentPart[]; tool_calls?: unknown[]; tool_call_id?: string }>;
  tools?: Array<{ type: string; function: { name: string } }>;
  stream_options?: { include_usage?: boolean };
};

export type FakeLlmOptions = {
  port?: number;
  hostname?: string;
  /** Replies used in order, one per request, before `respond` and the default. */
  replies?: FakeReply[];
  /** Decides the reply from the request; `undefined` falls back to the default. */
  respond?: (request: FakeRequest) => FakeReply | undefined;
  chunkDelayMs?: number;
};

export type FakeLlm = {
  /** Base URL for an OpenAI client, ending in `/v1`. */
  url: string;
  port: number;
  requests: FakeRequest[];
  /** The API key each request carried (its bearer token), in order. */
  apiKeys: string[];
  stop: () => Promise<void>;
};

export const DEFAULT_ANSWER_INTRO = 'Let us work through this step by step.';

/** The text of a message, whether it came as a string or as parts. */
export function textOf(content: FakeRequest['messages'][number]['content']): string {
  if (Array.isArray(content)) return content.map((part) => part.text ?? '').join('');
  return content ?? '';
}

/** The data URLs of the images in a message. */
export function imagesOf(content: FakeRequest['messages'][number]['content']): string[] {
  return Array.isArray(content) ? content.flatMap((part) => (part.type === 'image_url' && part.image_url ? [part.image_url.url] : [])) : [];
}

function lastUserMessage(request: FakeRequest): string {
  const message = [...request.messages].reverse().find((m) => m.role === 'user');
  return textOf(message?.content);
}

export function defaultAnswer(question: string): string {
  return [
    `${DEFAULT_ANSWER_INTRO} You asked: **${question.slice(0, 200)}**`,
    '',
    '1. Mass and energy are two forms of the same thing.',
    '2. Einstein wrote the relation as $E = mc^2$, read "E = mc²": energy equals mass times the speed of light squared.',
    '',
    'Can you say in your own words what $c$ stands for?',
  ].join('\n');
}

function consolidationReply(request: FakeRequest): FakeReply {
  const prompt = lastUserMessage(request);
  const conversation = prompt.split('## Conversation to Process').pop() ?? '';
  const firstLine = conversation.trim().split('\n')[0] ?? '';
  const topic = firstLine.replace(/^\[[^\]]*\]\s*USER:\s*/, '').slice(0, 80);
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  return {
    toolCalls: [
      {
        name: 'save_memory',
        arguments: {
          history_entry: `[${date}] The student asked about: ${topic}. The tutor explained it step by step.`,
          memory_update: `# Long-term Memory\n\n## Progress\n\n- Studied: ${topic}\n`,
        },
      },
    ],
  };
}

/** `calculate: <expression>` in the student's message: the fake calls the calculator, then answers with its result. */
const CALCULATE = /calculate:\s*(.+)$/im;

function calculatorReply(request: FakeRequest): FakeReply | undefined {
  const expression = CALCULATE.exec(lastUserMessage(request))?.[1]?.trim();
  if (!expression || !request.tools?.some((tool) => tool.function.name === 'calculator')) return undefined;
  const last = request.messages.at(-1);
  if (last?.role === 'tool') return { text: `The calculator says: ${expression} = ${textOf(last.content)}` };
  return { toolCalls: [{ name: 'calculator', arguments: { operation: 'evaluate', expression } }] };
}

function defaultReply(request: FakeRequest): FakeReply {
  if (request.tools?.some((tool) => tool.function.name === 'save_memory')) return consolidationReply(request);
  const calculation = calculatorReply(request);
  if (calculation) return calculation;
  const last = [...request.messages].reverse().find((m) => m.role === 'user');
  const images = imagesOf(last?.content).length;
  const seen = images ? `I can see the ${images === 1 ? 'image' : `${images} images`} you sent. ` : '';
  return { text: seen + defaultAnswer(lastUserMessage(request)) };
}

/** Splits text into a few pieces so a stream has several deltas. */
function pieces(text: string): string[] {
  const words = text.split(/(?<= )/);
  const size = Math.max(1, Math.ceil(words.length / 6));
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(''));
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toolCallsOf(reply: FakeReply, id: string) {
  return (reply.toolCalls ?? []).map((call, index) => ({
    index,
    id: `call_${id}_${index}`,
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
}

export function startFakeLlm(options: FakeLlmOptions = {}): FakeLlm {
  const queue = [...(options.replies ?? [])];
  const requests: FakeRequest[] = [];
  const apiKeys: string[] = [];
  const chunkDelayMs = options.chunkDelayMs ?? 10;
  let counter = 0;

  const server = Bun.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === '/health') return Response.json({ status: 'ok' });
      if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
        return Response.json({ error: { message: `no route ${req.method} ${url.pathname}` } }, { status: 404 });
      }
      const request = (await req.json()) as FakeRequest;
      requests.push(request);
      apiKeys.push(req.headers.get('authorization')?.replace(/^Bearer\s+/i, '') ?? '');
      const reply = queue.shift() ?? options.respond?.(request) ?? defaultReply(request);
      const id = `fake${++counter}`;
      const delay = reply.delayMs ?? chunkDelayMs;
      if (reply.stallMs) await sleep(reply.stallMs);
      if (reply.holdUntil) await reply.holdUntil;
      if (reply.error) {
        const { status, message, code, extra } = reply.error;
        // `retry-after-ms: 0` (a header both SDKs honour) makes a retry come at once, not after about half a second of back-off.
        return Response.json({ error: { message, type: 'fake_error', ...(code ? { code } : {}), ...extra } }, { status, headers: code ? { 'x-should-retry': 'false' } : { 'retry-after-ms': '0' } });
      }
      const toolCalls = toolCallsOf(reply, id);
      const finish = toolCalls.length ? 'tool_calls' : 'stop';
      const base = { id, created: Math.floor(Date.now() / 1000), model: request.model };

      if (!request.stream) {
        await sleep(delay);
        return Response.json({
          ...base,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              finish_reason: finish,
              message: { role: 'assistant', content: reply.text ?? null, ...(toolCalls.length ? { tool_calls: toolCalls.map(({ index: _, ...call }) => call) } : {}) },
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
      }

      const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
      const encoder = new TextEncoder();
      // Set when the client goes away (a student's Stop): the rest of a slow answer is not written.
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode(chunk({ role: 'assistant', content: '' })));
          for (const piece of reply.text ? pieces(reply.text) : []) {
            await sleep(delay);
            if (cancelled) return;
            controller.enqueue(encoder.encode(chunk({ content: piece })));
          }
          for (const call of toolCalls) {
            // As real providers do: id and name first, then the arguments in two fragments.
            const half = Math.ceil(call.function.arguments.length / 2);
            controller.enqueue(encoder.encode(chunk({ tool_calls: [{ index: call.index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] })));
            controller.enqueue(encoder.encode(chunk({ tool_calls: [{ index: call.index, function: { arguments: call.function.arguments.slice(0, half) } }] })));
            controller.enqueue(encoder.encode(chunk({ tool_calls: [{ index: call.index, function: { arguments: call.function.arguments.slice(half) } }] })));
          }
          controller.enqueue(encoder.encode(chunk({}, finish)));
          if (request.stream_options?.include_usage) {
            // As OpenAI does: a last chunk with no choices, only usage.
            const usage = { prompt_tokens: 1, completion_tokens: pieces(reply.text ?? '').length, total_tokens: 0 };
            usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
            controller.enqueue(encoder.encode(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`));
          }
          controller.enqueue(encoder.encode('data: [DONE]\n\n'));
          controller.close();
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(body, { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' } });
    },
  });

  const port = server.port ?? 0;
  const host = server.hostname === '0.0.0.0' ? '127.0.0.1' : server.hostname;
  return { url: `http://${host}:${port}/v1`, port, requests, apiKeys, stop: () => server.stop(true) };
}

if (import.meta.main) {
  const arg = (name: string) => {
    const index = process.argv.indexOf(`--${name}`);
    return index > 0 ? process.argv[index + 1] : undefined;
  };
  const llm = startFakeLlm({ port: Number(arg('port') ?? 4010), hostname: arg('host') ?? '127.0.0.1', chunkDelayMs: Number(arg('chunk-delay-ms') ?? 10) });
  console.log(`fake LLM listening at ${llm.url}`);
}
