/**
 * What every model call gets, whatever the provider: deadlines (a whole call, and the first chunk of a
 * stream), Stop from the client, errors turned into sentences for the student with a machine code, and
 * one JSON log line per failure (never the key, never the student's text).
 */
import { LlmError, relayRefusal, StoppedError, type ChatRequest, type LlmProvider } from './provider.ts';

export type GuardOptions = {
  provider: string;
  model: string;
  /** Masked out of every message and log line, in case a provider echoes it. */
  apiKey: string;
  timeoutMs: number;
  firstChunkMs: number;
};

export const NO_VISION_MESSAGE =
  'This model cannot read images. Type the exercise out instead, or ask the administrator for a model with vision.';

/** Provider wordings for "this model takes no images" (OpenAI, vLLM, Ollama, DeepSeek…). */
const NO_VISION = /image|vision|multimodal|multi-modal|unknown variant/i;

/** Anything that looks like an API key: `sk-…`, `sk-ant-…`, `key-…`, or a long opaque token. */
const KEY_LIKE = /\b(?:sk|key|rk|pk)-[A-Za-z0-9_*.-]{6,}|\b[A-Za-z0-9_-]{40,}\b/g;

function mask(text: string, apiKey: string): string {
  const literal = apiKey.length >= 4 ? text.replaceAll(apiKey, '***') : text;
  return literal.replace(KEY_LIKE, '***');
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** The SDK's message, plus the network's reason when the provider could not be reached at all. */
function detailOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : '';
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

function logFailure(options: GuardOptions, failure: LlmError, detail: string): void {
  const line = {
    time: new Date().toISOString(),
    level: 'error',
    event: 'llm_failed',
    provider: options.provider,
    model: options.model,
    status: failure.status ?? null,
    code: failure.code,
    error: detail,
  };
  console.error(JSON.stringify(line));
}

export function guardProvider(inner: LlmProvider, options: GuardOptions): LlmProvider {
  const seconds = (ms: number) => {
    const n = Math.round(ms / 100) / 10;
    return `${n} second${n === 1 ? '' : 's'}`;
  };
  return {
    async chat(request: ChatRequest) {
      const controller = new AbortController();
      let deadline: string | undefined;
      const expire = (what: string) => () => {
        deadline = what;
        controller.abort();
      };
      const total = setTimeout(expire(`did not finish its answer within ${seconds(options.timeoutMs)}`), options.timeoutMs);
      // Only a stream can show progress; a call without one has the whole deadline.
      let firstChunk = request.onDelta
        ? setTimeout(expire(`did not start answering within ${seconds(options.firstChunkMs)}`), options.firstChunkMs)
        : undefined;
      const stop = () => controller.abort();
      request.signal?.addEventListener('abort', stop, { once: true });
      if (request.signal?.aborted) controller.abort();
      try {
        const result = await inner.chat({
          ...request,
          signal: controller.signal,
          onChunk: () => {
            clearTimeout(firstChunk);
            firstChunk = undefined;
            request.onChunk?.();
          },
        });
        // The OpenAI SDK ends an aborted stream quietly, as if the answer were complete.
        if (controller.signal.aborted) throw new Error('the call was aborted');
        return result;
      } catch (error) {
        if (request.signal?.aborted) throw new StoppedError();
        const status = statusOf(error);
        const detail = mask(detailOf(error), options.apiKey);
        let failure: LlmError;
        const refused = relayRefusal(error);
        if (refused) {
          failure = new LlmError(refused.message, refused.code, status, { resetsAt: refused.resetsAt, scope: refused.scope });
        } else if (deadline) {
          failure = new LlmError(`The ${options.provider} provider ${deadline}. Try again in a moment.`, 'llm_timeout');
        } else if (
          request.messages.some((m) => m.role === 'user' && m.images?.length) &&
          (status === undefined || (status >= 400 && status < 500)) &&
          NO_VISION.test(detail)
        ) {
          failure = new LlmError(NO_VISION_MESSAGE, 'no_vision', status);
        } else {
          failure = new LlmError(`The ${options.provider} provider failed: ${detail}`, 'llm_failed', status);
        }
        logFailure(options, failure, deadline ? failure.message : detail);
        throw failure;
      } finally {
        clearTimeout(total);
        clearTimeout(firstChunk);
        request.signal?.removeEventListener('abort', stop);
      }
    },
  };
}
