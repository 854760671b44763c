/** The browser's side of the web app's own API (never the gateway's). */
import { failedAnswerMessage, isErrorCode, MESSAGES, type ErrorCode } from '@/lib/api/shared.ts';
import { readSse } from './sse.ts';

export type { ErrorCode };

/** Agent failures that happen after the agent stored the student's message (contract: it always stores it first). */
const STORED_FAILURES = new Set(['llm_failed', 'llm_timeout', 'no_provider', 'no_vision', 'llm_quota', 'llm_rate_limited']);

/** An answer whose stream broke off or ended without `done`: the agent had begun it, so it holds the question. */
const cutOff = () => new ApiError(MESSAGES.cutOff, 'unavailable', undefined, 'answer_cut_off', true);

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly retryAfter?: number,
    /** The agent's own code, when it answered (e.g. `llm_failed`). */
    readonly reason?: string,
    /** Known to be held by the agent whatever the code: the answer had begun streaming. */
    private readonly begun = false,
  ) {
    super(message);
  }

  /** Whether the agent kept the question in the session, so a retry must replace that turn, not add one. */
  get stored(): boolean {
    return this.begun || (this.reason !== undefined && STORED_FAILURES.has(this.reason));
  }
}

const SIGNED_OUT = 'Your sign-in has expired. Please sign in again.';

function errorFrom(status: number, body: unknown, fallback: string): ApiError {
  const { error, code, retryAfter, reason } = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (status === 401) return new ApiError(SIGNED_OUT, 'unauthenticated');
  return new ApiError(
    typeof error === 'string' ? error : fallback,
    isErrorCode(code) ? code : 'failed',
    typeof retryAfter === 'number' ? retryAfter : undefined,
    typeof reason === 'string' ? reason : undefined,
  );
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { cache: 'no-store', ...init });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError('The app cannot be reached. Check your connection and try again.', 'offline');
  }
  if (!response.ok) throw errorFrom(response.status, await response.json().catch(() => ({})), 'Something went wrong. Please try again.');
  return response;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  return (await send(path, init)).json() as Promise<T>;
}

/** A JSON request with a JSON body (PATCH, DELETE, …). */
export function sendJson<T>(path: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  return getJson<T>(path, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export function sessionHeaders(sessionId: string): Record<string, string> {
  return { 'X-Session-ID': sessionId };
}

export type ChatRequest = { message: string; images?: string[]; replaceLastTurn?: boolean };

/** Sends a message and calls onDelta with each piece of the answer; resolves with the whole answer. */
export async function streamChat(request: ChatRequest, sessionId: string, onDelta: (text: string) => void, signal: AbortSignal): Promise<string> {
  const response = await send('/api/chat', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...sessionHeaders(sessionId) },
    body: JSON.stringify(request),
    signal,
  });
  if (!response.body) throw new ApiError('The answer was empty. Please try again.', 'failed');
  let whole = '';
  try {
    for await (const { event, data } of readSse(response.body)) {
      const payload = JSON.parse(data) as { text?: string; response?: string; error?: string; code?: string };
      if (event === 'delta' && payload.text) {
        whole += payload.text;
        onDelta(payload.text);
      } else if (event === 'done') {
        return payload.response ?? whole;
      } else if (event === 'error') {
        // Mid-answer, from the agent or from the gateway when it lost the agent (agent_lost): the
        // answer had begun, so the agent holds the question, whatever the code.
        const reason = payload.code ?? 'llm_failed';
        throw new ApiError(failedAnswerMessage(reason, payload.error), 'failed', undefined, reason, true);
      }
    }
  } catch (error) {
    // A stream that breaks (the tutor lost midway) throws the browser's own network error: not for students.
    if (error instanceof ApiError || signal.aborted) throw error;
    throw cutOff();
  }
  if (whole) return whole;
  throw cutOff();
}

/** Multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export function uploadFiles(files: File[], onProgress: (fraction: number) => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append('files', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = (xhr.response ?? {}) as { saved_files?: string[] };
      if (xhr.status >= 200 && xhr.status < 300) resolve(body.saved_files ?? []);
      else reject(errorFrom(xhr.status, xhr.response, 'The upload failed. Please try again.'));
    };
    xhr.onerror = () => reject(new ApiError('The upload was interrupted. Check your connection and try again.', 'offline'));
    xhr.send(form);
  });
}

/**
 * A dashed UUID: the real nanobot's `/sessions` recognises only those and files any other id under
 * `default`. randomUUID exists only in secure contexts (HTTPS, localhost); plain-http deployments
 * get the same version-4 shape from getRandomValues.
 */
export function newSessionId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
