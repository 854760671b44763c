/**
 * Which LLM provider and model the tutors will use, and whether it answers. The choice is the
 * reference agent's own (agent/src/config.ts, one file that needs only zod; the gateway image
 * copies it), so the check cannot disagree with the tutors. The test call asks for one token.
 * Neither the key nor anything that looks like a secret is ever part of the answer.
 */
import { ConfigError, loadConfig, NO_PROVIDER_MESSAGE } from '../../../agent/src/config.ts';
import { maskSecrets } from '../mask.ts';

export type LlmCheck =
  | { configured: false; reachable: false; error: string }
  | {
      configured: true;
      provider: string;
      model: string;
      /** Where the tutors send their calls; the provider's public API when the config names none. */
      apiBase: string;
      keyConfigured: boolean;
      reachable: boolean;
      /** The HTTP status of the test call, when one came back. */
      status?: number;
      error?: string;
      latencyMs: number;
    };

const DEFAULT_BASES = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com' } as const;
const MAX_ERROR_LENGTH = 300;

/** The provider's own sentence (OpenAI and Anthropic both answer `{error: {message}}`), without secrets. */
async function errorOf(res: Response, apiKey: string): Promise<string> {
  const text = await res.text().catch(() => '');
  let message = text;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const inner = typeof body.error === 'object' ? body.error?.message : body.error ?? body.message;
    if (typeof inner === 'string') message = inner;
  } catch {
    // Not JSON: the start of the body says enough.
  }
  return clean(`${res.status} ${message || res.statusText}`, apiKey);
}

const clean = (text: string, apiKey: string): string =>
  maskSecrets(apiKey ? text.split(apiKey).join('***') : text).slice(0, MAX_ERROR_LENGTH);

export async function checkLlm(configPath: string, { fetch: fetchImpl = fetch, timeoutMs = 15_000 } = {}): Promise<LlmCheck> {
  let provider;
  try {
    provider = (await loadConfig(configPath)).provider;
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err);
    return { configured: false, reachable: false, error: clean(message, '') };
  }
  if (!provider) return { configured: false, reachable: false, error: NO_PROVIDER_MESSAGE };

  const apiBase = (provider.apiBase ?? DEFAULT_BASES[provider.kind]).replace(/\/+$/, '');
  const request: { url: string; headers: Record<string, string>; body: unknown } =
    provider.kind === 'anthropic'
      ? {
          url: `${apiBase}/v1/messages`,
          headers: { 'x-api-key': provider.apiKey, 'anthropic-version': '2023-06-01' },
          body: { model: provider.model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] },
        }
      : {
          url: `${apiBase}/chat/completions`,
          headers: { authorization: `Bearer ${provider.apiKey}` },
          body: { model: provider.model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] },
        };
  const base = { configured: true as const, provider: provider.name, model: provider.model, apiBase, keyConfigured: provider.keyConfigured };
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const res = await fetchImpl(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...request.headers },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.ok) {
      await res.body?.cancel();
      return { ...base, reachable: true, status: res.status, latencyMs: latency() };
    }
    return { ...base, reachable: false, status: res.status, error: await errorOf(res, provider.apiKey), latencyMs: latency() };
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : String(err instanceof Error ? err.message : err);
    return { ...base, reachable: false, error: clean(`cannot reach ${apiBase}: ${reason}`, provider.apiKey), latencyMs: latency() };
  }
}
