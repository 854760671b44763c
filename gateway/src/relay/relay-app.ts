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
import { agentSuffix, ALLOWED_PATHS, kindOf, upstreamOf, type Upstream } from './providers.ts';
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

/**
 * One error shape both SDKs read: the OpenAI SDK takes `error.message`, Anthropic's `error.message`
 * and `error.type`; `error.code` is what the reference agent looks for.
 */
function relayError(status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return Response.json({ type: 'error', error: { type: code, code, message, ...extra } }, { status, headers });
}

/** Removes the provider key, and anything that looks like a piece of it, from a provider's error body. */
export function redactKey(text: string, key: string): string {
  if (!key) return text;
  let out = text.split(key).join('[redacted]');
  const pieces = key.length >= 16 ? [key.slice(0, 8), key.slice(-8)] : [];
  for (const piece of pieces) {
    out = out.replace(new RegExp(`[^\\s"']*${piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\s"']*`, 'g'), '[redacted]');
  }
  return out;
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
  if (declared !== null) return req.bytes();
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

/** Passes the body through chunk by chunk, showing each chunk to the meter; `done` runs once at the end. */
function metered(body: ReadableStream<Uint8Array>, meter: UsageMeter, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
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
          meter.push(value);
          controller.enqueue(value);
        } catch (err) {
          finish();
          controller.error(err);
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

    let payload: Record<string, unknown> | undefined;
    if (c.req.method === 'POST') {
      let bytes: Uint8Array;
      try {
        bytes = await readBody(c.req.raw, maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) return relayError(413, 'payload_too_large', `The request body is larger than ${maxBodyBytes} bytes.`);
        throw err;
      }
      try {
        const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        payload = parsed as Record<string, unknown>;
      } catch {
        return relayError(400, 'invalid_json', 'The request body must be a JSON object.');
      }
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

    const streamed = payload?.stream === true;
    if (payload && streamed && kind === 'openai') {
      // Without it an OpenAI-compatible stream reports no usage at all.
      const given = payload.stream_options;
      payload.stream_options = { ...(given && typeof given === 'object' ? given : {}), include_usage: true };
    }

    const controller = new AbortController();
    const abort = () => controller.abort();
    c.req.raw.signal.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(abort, upstreamTimeoutMs);
    let res: Response;
    try {
      res = await fetchImpl(`${upstream.base}${rest}${search}`, {
        method: c.req.method,
        headers: outgoingHeaders(c.req.raw.headers, upstream),
        ...(payload ? { body: JSON.stringify(payload) } : {}),
        signal: controller.signal,
      });
    } catch (err) {
      if (c.req.raw.signal.aborted) return new Response(null, { status: 499 });
      onError(err);
      return relayError(502, 'provider_unreachable', `The ${name} provider could not be reached.`);
    } finally {
      clearTimeout(timer);
    }

    const headers = new Headers(res.headers);
    for (const header of DROPPED_RESPONSE_HEADERS) headers.delete(header);
    if (!res.ok || !res.body) {
      log({ level: 'warn', msg: 'llm relay provider error', userId, provider: name, status: res.status });
      const text = (await res.text().catch(() => '')).slice(0, MAX_ERROR_BYTES);
      return new Response(redactKey(text, upstream.apiKey), { status: res.status, headers });
    }
    const meter = new UsageMeter(kind, res.headers.get('content-type')?.includes('text/event-stream') ?? false, typeof payload?.model === 'string' ? payload.model : '');
    const record = () => {
      try {
        const usage = meter.end();
        store.record(userId, name, usage);
        countUsage(name, usage);
        log({ level: 'info', msg: 'llm relay', userId, provider: name, ...usage });
      } catch (err) {
        onError(err);
      }
    };
    return new Response(metered(res.body, meter, c.req.method === 'POST' ? record : () => {}), { status: res.status, headers });
  });

  return app;
}
