/** The browser's side of the web app's own API (never the gateway's). */
import { readSse } from './sse.ts';

export type ErrorCode = 'starting' | 'too_large' | 'not_found' | 'bad_request' | 'unavailable' | 'misconfigured' | 'failed' | 'unauthenticated' | 'offline' | 'quota';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { error?: string; code?: ErrorCode; retryAfter?: number };
  if (response.status === 401) return new ApiError('Your sign-in has expired. Please sign in again.', 'unauthenticated');
  return new ApiError(body.error ?? 'Something went wrong. Please try again.', body.code ?? 'failed', body.retryAfter);
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { cache: 'no-store', ...init });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError('The app cannot be reached. Check your connection and try again.', 'offline');
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  return (await send(path, init)).json() as Promise<T>;
}

export function sessionHeaders(sessionId: string): Record<string, string> {
  return { 'X-Session-ID': sessionId };
}

/** Sends a message and calls onDelta with each piece of the answer; resolves with the whole answer. */
export async function streamChat(message: string, sessionId: string, onDelta: (text: string) => void, signal: AbortSignal): Promise<string> {
  const response = await send('/api/chat', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...sessionHeaders(sessionId) },
    body: JSON.stringify({ message }),
    signal,
  });
  if (!response.body) throw new ApiError('The answer was empty. Please try again.', 'failed');
  let whole = '';
  for await (const { event, data } of readSse(response.body)) {
    const payload = JSON.parse(data) as { text?: string; response?: string; error?: string };
    if (event === 'delta' && payload.text) {
      whole += payload.text;
      onDelta(payload.text);
    } else if (event === 'done') {
      return payload.response ?? whole;
    } else if (event === 'error') {
      throw new ApiError(payload.error ?? 'Your tutor ran into a problem. Please try again.', 'failed');
    }
  }
  if (whole) return whole;
  throw new ApiError('The answer was cut off. Please try again.', 'unavailable');
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
      const body = (xhr.response ?? {}) as { saved_files?: string[]; error?: string; code?: ErrorCode };
      if (xhr.status >= 200 && xhr.status < 300) resolve(body.saved_files ?? []);
      else if (xhr.status === 401) reject(new ApiError('Your sign-in has expired. Please sign in again.', 'unauthenticated'));
      else reject(new ApiError(body.error ?? 'The upload failed. Please try again.', body.code ?? 'failed'));
    };
    xhr.onerror = () => reject(new ApiError('The upload was interrupted. Check your connection and try again.', 'offline'));
    xhr.send(form);
  });
}

/** 32 hex characters; getRandomValues works on plain-http deployments where randomUUID does not. */
export function newSessionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
