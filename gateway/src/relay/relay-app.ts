/**
 * The relay's HTTP side: `/llm/<provider>/…` on the agents' network only. It knows the student
 * from the relay key, checks their limits, swaps the key for the provider's, and streams the
 * answer back while counting its tokens.
 */
import { Hono, type Context } from 'hono';
import type { Log } from '../log.ts';
import type { AdminConfig } from './admin-config.ts';
import { presentedKey, relayKeyVerifier } from './keys.ts';
import type { RelayLimits } from './limits.ts';
import type { UsageCounter } from './metrics.ts';
import { agentSuffix, ALLOWED_PATHS, kindOf, upstreamOf, type ProviderKind, type Upstream } from './providers.ts';
import type { UsageStore } from './store.ts';
import { UsageMeter } from './usage.ts';
import { splitUrl } from '../target.ts';

export type RelayAppOptions = {
  admin: AdminConfig;
  store: UsageStore;
  limits: RelayLimits;
  /** AGENT_TOKEN_SECRET: relay keys are HMACs under it. */
  secret: string;
  maxBodyBytes: number;
  /** Bounds the wait for the provider's response headers; the body may stream for as long as it takes. */
  upstreamTimeoutMs: number;
  fetch?: typeof fetch;
  onError?: (err: unknown) => void;
  /** One line per forwarded or refused call: who, which provider and model, tokens; never a key or a message. */
  log?: Log;
  /** Hears every answered call's usage, for the metrics. */
  countUsage?: UsageCounter;
};

/** Request headers a provider may need; everything else (cookies, the agent's key) stays behind. */
const FORWARDED_HEADERS = ['content-type', 'accept', 'anthropic-version', 'anthropic-beta', 'user-agent'];
/** Response headers that describe the connection to us, or that Bun's fetch has already undone. */
const DROPPED_RESPONSE_HEADERS = ['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'set-cookie'];
/** What is passed on of a provider's error body. */
const MAX_ERROR_BYTES = 64 * 1024;
/** extraHeaders values shorter than this are names and switches (`x-team: a`), not secrets: redacting them would garble error bodies. */
const MIN_SECRET_LENGTH = 16;

/**
 * One error shape both SDKs read: the OpenAI SDK takes `error.message`, Anthropic's `error.message`
 * and `error.type`; `error.code` is what the reference agent looks for.
 */
function relayError(status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return Response.json({ type: 'error', error: { type: code, code, message, ...extra } }, { status, headers });
}

/** What gives a long key away when echoed cut or masked (`sk-proj-abcdefgh***`): its first and last 8 characters. */
const piecesOf = (key: string): string[] => (key.length >= 16 ? [key.slice(0, 8), key.slice(-8)] : []);

/** Whitespace and quotes: where a word holding a piece of the key ends. */
const WORD_END = /[\s"']/;

/**
 * Replaces every word (a run without whitespace or quotes) that holds `piece` with `[redacted]`.
 * Each occurrence is found with indexOf and widened by hand, never back past the last replacement,
 * so the text is walked about twice: linear, where the regex `[^\s"']*piece[^\s"']*` backtracks
 * quadratically over a long word (a 64 KiB model name echoed in a 404 froze the event loop for seconds).
 */
function redactWords(text: string, piece: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf(piece); at !== -1; at = text.indexOf(piece, from)) {
    let start = at;
    while (start > from && !WORD_END.test(text.charAt(start - 1))) start -= 1;
    let end = at + piece.length;
    while (end < text.length && !WORD_END.test(text.charAt(end))) end += 1;
    out += `${text.slice(from, start)}[redacted]`;
    from = end;
  }
  return out + text.slice(from);
}

/** Removes the key, and any word holding a piece of it, from a provider's error body. */
export function redactKey(text: string, key: string): string {
  if (!key) return text;
  let out = text.split(key).join('[redacted]');
  for (const piece of piecesOf(key)) out = redactWords(out, piece);
  return out;
}

/**
 * The admin's extraHeaders values no agent may see (an Azure `api-key`, an AI gateway's token). Only
 * whole values are looked for: pieces of a value such as `https://school.example.edu` (OpenRouter's
 * HTTP-Referer) would match every URL.
 */
const extraSecretsOf = (upstream: Upstream): string[] => Object.values(upstream.headers).filter((value) => value.length >= MIN_SECRET_LENGTH);

/** A provider's error body with the key (and words holding a piece of it) and the extraHeaders secrets taken out. */
const redactSecrets = (text: string, upstream: Upstream): string =>
  extraSecretsOf(upstream).reduce((out, secret) => out.split(secret).join('[redacted]'), redactKey(text, upstream.apiKey));

/** The provider's response headers less those about the connection, and less any that holds a secret (a proxy echoing the key). */
function responseHeaders(res: Response, upstream: Upstream): Headers {
  const key = upstream.apiKey;
  const needles = [...(key ? [key, ...piecesOf(key)] : []), ...extraSecretsOf(upstream)];
  const headers = new Headers();
  for (const [name, value] of res.headers) {
    if (!DROPPED_RESPONSE_HEADERS.includes(name) && !needles.some((needle) => value.includes(needle))) headers.append(name, value);
  }
  return headers;
}

class BodyTooLarge extends Error {}

/**
 * Reads the request body whole (it is JSON the relay must read), refusing more than maxBytes. A
 * declared length is held to by HTTP framing, so such a body is read by Bun in one go; only a
 * chunked one is counted chunk by chunk (the SDKs declare theirs: this is the path of every call).
 */
async function readBody(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (Number(declared ?? 0) > maxBytes) throw new BodyTooLarge();
  if (!req.body) return new Uint8Array();
  // Only a plain length: Bun passes one given twice as `n, n`, which no check above can hold to.
  if (declared !== null && /^\d+$/.test(declared)) return req.bytes();
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLarge();
    }
    parts.push(read.value);
  }
  return Buffer.concat(parts);
}

/**
 * The start of a provider's error body: at most MAX_ERROR_BYTES, the rest cancelled unread. A body
 * that breaks off, or is aborted by the upstream timeout, ends where it is.
 */
async function errorText(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      parts.push(read.value);
      size += read.value.byteLength;
      if (size >= MAX_ERROR_BYTES) break;
    }
  } catch {
    // What came before the break is passed on.
  }
  reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, MAX_ERROR_BYTES));
}

/**
 * A POST's JSON object as it will be forwarded, or the relay's answer to a body it will not forward.
 * An OpenAI-compatible stream (any truthy `stream`: lenient servers such as vLLM and LiteLLM stream
 * for `1` or `"true"` too) is asked to report its usage, without which it reports none.
 */
async function readPayload(req: Request, kind: ProviderKind, maxBytes: number): Promise<{ payload: Record<string, unknown>; body: string } | Response> {
  let bytes: Uint8Array;
  try {
    bytes = await readBody(req, maxBytes);
  } catch (err) {
    if (err instanceof BodyTooLarge) return relayError(413, 'payload_too_large', `The request body is larger than ${maxBytes} bytes.`);
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const payload = parsed as Record<string, unknown>;
    if (payload.stream && kind === 'openai') {
      const given = payload.stream_options;
      payload.stream_options = { ...(given && typeof given === 'object' ? given : {}), include_usage: true };
    }
    // Written out here, not in the fetch: JSON nested too deep to write out again is the caller's fault.
    return { payload, body: JSON.stringify(payload) };
  } catch {
    return relayError(400, 'invalid_json', 'The request body must be a JSON object.');
  }
}

function outgoingHeaders(incoming: Headers, upstream: Upstream): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = incoming.get(name);
    if (value) headers.set(name, value);
  }
  for (const [name, value] of Object.entries(upstream.headers)) headers.set(name, value);
  if (upstream.kind === 'anthropic') headers.set('x-api-key', upstream.apiKey);
  else if (upstream.apiKey) headers.set('authorization', `Bearer ${upstream.apiKey}`);
  return headers;
}

/** A read error in a word (`ECONNRESET`, `AbortError`): its message or stack may name the upstream URL. */
const errorName = (err: unknown): string => (err instanceof Error ? String((err as Error & { code?: unknown }).code ?? err.name) : 'unknown error');

/**
 * Passes the body through chunk by chunk, showing each chunk to the meter (if any); `done` runs once
 * at the end, given the error when the provider's side broke off.
 */
function metered(body: ReadableStream<Uint8Array>, meter: UsageMeter | undefined, done: (err?: unknown) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  const finish = (err?: unknown) => {
    if (finished) return;
    finished = true;
    done(err);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done: ended } = await reader.read();
          if (ended) {
            finish();
            controller.close();
            return;
          }
          meter?.push(value);
          controller.enqueue(value);
        } catch (err) {
          finish(err);
          // The agent sees the connection cut. No reason given: Bun prints one as a raw stack trace
          // (with the upstream URL) on stderr, and `done` has reported it already.
          controller.error();
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

export function createRelayApp(options: RelayAppOptions) {
  const { admin, store, limits, secret, maxBodyBytes, upstreamTimeoutMs, fetch: fetchImpl = fetch, onError = () => {}, log = () => {}, countUsage = () => {} } = options;
  const verifyKey = relayKeyVerifier(secret);
  const app = new Hono();

  app.notFound(() => relayError(404, 'not_found', 'The relay serves /llm/<provider>/… only.'));
  app.onError((err) => {
    onError(err);
    return relayError(500, 'relay_error', 'The relay failed to handle the request.');
  });

  app.all('/llm/:provider/*', async (c: Context) => {
    const name = c.req.param('provider') ?? '';
    const userId = verifyKey(presentedKey(c.req.raw.headers));
    if (!userId) return relayError(401, 'invalid_relay_key', 'This relay needs the key from the agent\'s config.json.');

    let upstream: Upstream | undefined;
    try {
      upstream = upstreamOf(admin.providers(), name);
    } catch {
      return relayError(503, 'config_unavailable', 'The administrator\'s config.json cannot be read.');
    }
    if (!upstream) return relayError(404, 'unknown_provider', `No provider named ${JSON.stringify(name)} is set up in config.json.`);

    const kind = kindOf(name);
    // Cut from the string: `new URL` throws on a malformed Host (`h:99999`), which would be a 500.
    const { target } = splitUrl(c.req.url);
    const queryAt = target.indexOf('?');
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
    const search = queryAt === -1 ? '' : target.slice(queryAt);
    const prefix = `/llm/${name}${agentSuffix(kind)}`;
    const rest = pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : '';
    if (ALLOWED_PATHS[kind][rest] !== c.req.method) {
      return relayError(404, 'unknown_path', `The relay does not forward ${c.req.method} ${pathname}.`);
    }

    const refusal = limits.check(userId);
    if (refusal) {
      log({ level: 'info', msg: 'llm relay refused', userId, provider: name, code: refusal.code });
      const retryAfter = Math.max(1, Math.ceil((refusal.resetsAt.getTime() - Date.now()) / 1000));
      // x-should-retry: both SDKs would otherwise retry a 429 at once, which cannot help.
      return relayError(429, refusal.code, refusal.message, { resets_at: refusal.resetsAt.toISOString(), scope: refusal.scope }, {
        'retry-after': String(retryAfter),
        'x-should-retry': 'false',
      });
    }
    // Checked before the body is read, so a refused call never buffers one. The call now holds a
    // slot (limits.ts) until its answer has ended: the answer's stream gives it back when there is
    // one, the `finally` below otherwise.
    let forwarded = false;
    let streaming = false;
    try {
      const read = c.req.method === 'POST' ? await readPayload(c.req.raw, kind, maxBodyBytes) : undefined;
      if (read instanceof Response) return read;
      const { payload, body } = read ?? {};

      forwarded = true;
      const controller = new AbortController();
      const abort = () => controller.abort();
      c.req.raw.signal.addEventListener('abort', abort, { once: true });
      // Bounds the wait for the headers, and for an error body.
      const timer = setTimeout(abort, upstreamTimeoutMs);
      let res: Response;
      try {
        try {
          res = await fetchImpl(`${upstream.base}${rest}${search}`, {
            method: c.req.method,
            headers: outgoingHeaders(c.req.raw.headers, upstream),
            ...(body === undefined ? {} : { body }),
            signal: controller.signal,
            // A redirect would carry the real key (x-api-key, extraHeaders) to wherever it points.
            redirect: 'manual',
          });
        } catch (err) {
          if (c.req.raw.signal.aborted) return new Response(null, { status: 499 });
          onError(err);
          return relayError(502, 'provider_unreachable', `The ${name} provider could not be reached.`);
        }
        if (!res.ok || !res.body) {
          log({ level: 'warn', msg: 'llm relay provider error', userId, provider: name, status: res.status });
          // A redirect is not followed (above) nor passed on (its Location is not the agent's business);
          // a status outside 200-599 cannot be answered with.
          if (res.status < 200 || res.status > 599 || (res.status >= 300 && res.status < 400)) {
            res.body?.cancel().catch(() => {});
            return relayError(502, 'provider_error', `The ${name} provider answered with status ${res.status}, which the relay does not pass on.`);
          }
          return new Response(redactSecrets(await errorText(res.body), upstream), { status: res.status, headers: responseHeaders(res, upstream) });
        }
      } finally {
        clearTimeout(timer);
      }

      // Only answers to a POST are usage (a GET of the models list is not).
      const meter = payload && body !== undefined ? new UsageMeter(kind, res.headers.get('content-type')?.includes('text/event-stream') ?? false, typeof payload.model === 'string' ? payload.model : '', body) : undefined;
      const end = (err?: unknown) => {
        limits.release(userId, true);
        if (err !== undefined && !c.req.raw.signal.aborted) onError(new Error(`The ${name} provider's answer broke off: ${errorName(err)}`));
        if (!meter) return;
        try {
          const usage = meter.end();
          store.record(userId, name, usage);
          countUsage(name, usage);
          log({ level: 'info', msg: 'llm relay', userId, provider: name, ...usage });
        } catch (recordErr) {
          onError(recordErr);
        }
      };
      streaming = true;
      return new Response(metered(res.body, meter, end), { status: res.status, headers: responseHeaders(res, upstream) });
    } finally {
      if (!streaming) limits.release(userId, forwarded);
    }
  });

  return app;
}
