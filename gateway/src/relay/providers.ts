/**
 * The providers the relay forwards to, as the admin's config.json names them (nanobot's provider
 * names). Anthropic speaks its Messages API; every other provider is OpenAI-compatible.
 */

export type ProviderKind = 'openai' | 'anthropic';

/** nanobot's defaults for providers whose config leaves `apiBase` empty. */
const DEFAULT_BASES: Record<string, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  openrouter: 'https://openrouter.ai/api/v1',
  aihubmix: 'https://aihubmix.com/v1',
  deepseek: 'https://api.deepseek.com',
  groq: 'https://api.groq.com/openai/v1',
  gemini: 'https://generativelanguage.googleapis.com/v1beta/openai',
  moonshot: 'https://api.moonshot.ai/v1',
  dashscope: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
  zhipu: 'https://open.bigmodel.cn/api/paas/v4',
};

export const kindOf = (name: string): ProviderKind => (name === 'anthropic' ? 'anthropic' : 'openai');

/**
 * What an agent's SDK puts before its own path: OpenAI-compatible clients (the OpenAI SDK, LiteLLM)
 * add `/chat/completions` to a base that ends in `/v1`; Anthropic's add `/v1/messages` to the host.
 */
export const agentSuffix = (kind: ProviderKind): string => (kind === 'openai' ? '/v1' : '');

/** The paths below the agent's base that the relay forwards; everything else is a 404. */
export const ALLOWED_PATHS: Record<ProviderKind, Record<string, string>> = {
  openai: { '/chat/completions': 'POST', '/models': 'GET' },
  anthropic: { '/v1/messages': 'POST', '/v1/models': 'GET' },
};

/** A provider entry of config.json, in either spelling nanobot accepts. */
export type ProviderEntry = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

export const apiKeyOf = (entry: ProviderEntry): string => text(entry.apiKey) || text(entry.api_key);
export const apiBaseOf = (entry: ProviderEntry): string => text(entry.apiBase) || text(entry.api_base);

/** A provider the admin set up: it has a key, or (a local server) an address. */
export const isConfigured = (entry: ProviderEntry): boolean => apiKeyOf(entry) !== '' || apiBaseOf(entry) !== '';

export type Upstream = { name: string; kind: ProviderKind; base: string; apiKey: string; headers: Record<string, string> };

/** Where the relay sends a provider's calls, or undefined for a provider the admin did not set up. */
export function upstreamOf(providers: Record<string, ProviderEntry>, name: string): Upstream | undefined {
  const entry = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (!entry || !isConfigured(entry)) return undefined;
  const base = (apiBaseOf(entry) || DEFAULT_BASES[name] || '').replace(/\/+$/, '');
  if (!base) return undefined;
  const extra = entry.extraHeaders ?? entry.extra_headers;
  const headers: Record<string, string> = {};
  if (extra && typeof extra === 'object') {
    for (const [key, value] of Object.entries(extra)) if (typeof value === 'string') headers[key] = value;
  }
  return { name, kind: kindOf(name), base, apiKey: apiKeyOf(entry), headers };
}
