/** nanobot's `config.json` schema (the parts this agent uses) and nanobot's choice of provider. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

// z.object drops keys it does not know, so nanobot's other settings (channels, tools, gateway…) pass through unread.
const providerSchema = z.object({
  apiKey: z.string().nullish(),
  apiBase: z.string().nullish(),
});

const defaultsSchema = z.object({
  model: z.string().default('anthropic/claude-opus-4-5'),
  maxTokens: z.number().int().positive().default(8192),
  temperature: z.number().min(0).max(2).default(0.7),
  memoryWindow: z.number().int().min(2).default(50),
  maxToolIterations: z.number().int().min(1).default(20),
  /** Not nanobot's: the longest one model call may take, so a dead endpoint ends in an error, not a long spinner. */
  llmTimeoutSeconds: z.number().positive().default(120),
  /** Not nanobot's: how long a streamed answer may take to send its first chunk. */
  llmFirstTokenSeconds: z.number().positive().default(30),
});

const configSchema = z.object({
  providers: z.record(z.string(), providerSchema.nullish()).default({}),
  agents: z.object({ defaults: defaultsSchema.prefault({}) }).prefault({}),
});

export type AgentDefaults = z.infer<typeof defaultsSchema>;
type ProviderEntry = z.infer<typeof providerSchema>;

export type ProviderKind = 'openai' | 'anthropic';

/** The provider the model goes to, resolved from the config as nanobot would. */
export type ProviderChoice = {
  name: string;
  kind: ProviderKind;
  apiKey: string;
  /** False for a local server used without a key (`apiKey` is then a placeholder the SDK insists on). */
  keyConfigured: boolean;
  apiBase: string | undefined;
  /** The model name as the provider's API expects it (nanobot's routing prefix removed). */
  model: string;
};

export type AgentConfig = {
  defaults: AgentDefaults;
  provider: ProviderChoice | undefined;
};

type ProviderSpec = {
  name: string;
  kind: ProviderKind;
  keywords: string[];
  defaultApiBase?: string;
  /** Gateways route any model by its full name, so the model keeps its prefix. */
  gateway?: boolean;
  /** Local servers need an address, not a key. */
  local?: boolean;
};

/** nanobot's provider registry, in its order of preference when nothing in the model name decides. */
const PROVIDERS: ProviderSpec[] = [
  { name: 'custom', kind: 'openai', keywords: [], local: true },
  { name: 'openrouter', kind: 'openai', keywords: ['openrouter'], defaultApiBase: 'https://openrouter.ai/api/v1', gateway: true },
  { name: 'aihubmix', kind: 'openai', keywords: ['aihubmix'], defaultApiBase: 'https://aihubmix.com/v1', gateway: true },
  { name: 'anthropic', kind: 'anthropic', keywords: ['anthropic', 'claude'] },
  { name: 'openai', kind: 'openai', keywords: ['openai', 'gpt'] },
  { name: 'deepseek', kind: 'openai', keywords: ['deepseek'], defaultApiBase: 'https://api.deepseek.com' },
  { name: 'groq', kind: 'openai', keywords: ['groq'], defaultApiBase: 'https://api.groq.com/openai/v1' },
  { name: 'gemini', kind: 'openai', keywords: ['gemini'], defaultApiBase: 'https://generativelanguage.googleapis.com/v1beta/openai/' },
  { name: 'moonshot', kind: 'openai', keywords: ['moonshot', 'kimi'], defaultApiBase: 'https://api.moonshot.ai/v1' },
  { name: 'dashscope', kind: 'openai', keywords: ['qwen', 'dashscope'], defaultApiBase: 'https://dashscope.aliyuncs.com/compatible-mode/v1' },
  { name: 'zhipu', kind: 'openai', keywords: ['zhipu', 'glm'], defaultApiBase: 'https://open.bigmodel.cn/api/paas/v4' },
  { name: 'vllm', kind: 'openai', keywords: ['vllm'], local: true },
  { name: 'ollama', kind: 'openai', keywords: ['ollama'], defaultApiBase: 'http://localhost:11434/v1', local: true },
];

/** nanobot accepts snake_case keys as well as camelCase; normalise to camelCase before validating. */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), camelKeys(inner)]),
  );
}

type ConfiguredProvider = { spec: ProviderSpec; apiKey: string; apiBase: string | undefined };

function configuredProviders(providers: Record<string, ProviderEntry | null | undefined>): ConfiguredProvider[] {
  const found: ConfiguredProvider[] = [];
  for (const spec of PROVIDERS) {
    const entry = providers[spec.name];
    const apiKey = entry?.apiKey?.trim() ?? '';
    const apiBase = entry?.apiBase?.trim() || spec.defaultApiBase;
    const usable = apiKey !== '' || (spec.local === true && Boolean(entry?.apiBase?.trim()));
    if (usable) found.push({ spec, apiKey, apiBase });
  }
  return found;
}

/** Picks the provider as nanobot does: a provider named by the model wins, else the first with a key. */
export function chooseProvider(
  providers: Record<string, ProviderEntry | null | undefined>,
  model: string,
): ProviderChoice | undefined {
  const candidates = configuredProviders(providers);
  const lower = model.toLowerCase();
  const prefix = lower.includes('/') ? lower.slice(0, lower.indexOf('/')) : '';
  const chosen =
    candidates.find((c) => c.spec.name === prefix) ??
    candidates.find((c) => c.spec.keywords.some((k) => lower.includes(k))) ??
    candidates[0];
  if (!chosen) return undefined;
  const strip = !chosen.spec.gateway && prefix !== '' && (prefix === chosen.spec.name || chosen.spec.keywords.includes(prefix));
  return {
    name: chosen.spec.name,
    kind: chosen.spec.kind,
    // OpenAI-compatible local servers accept any key, but the SDK insists on one.
    apiKey: chosen.apiKey || 'no-key',
    keyConfigured: chosen.apiKey !== '',
    apiBase: chosen.apiBase,
    model: strip ? model.slice(prefix.length + 1) : model,
  };
}

export class ConfigError extends Error {}

/** Reads `config.json`; a missing file is an empty config (the agent still serves files and sessions). */
export async function loadConfig(path: string): Promise<AgentConfig> {
  let raw: unknown = {};
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
    }
  }
  const parsed = configSchema.safeParse(camelKeys(raw));
  if (!parsed.success) throw new ConfigError(`invalid ${path}: ${z.prettifyError(parsed.error)}`);
  const { defaults } = parsed.data.agents;
  return { defaults, provider: chooseProvider(parsed.data.providers, defaults.model) };
}

export const NO_PROVIDER_MESSAGE =
  'No LLM provider is configured. Put an API key in config.json under providers.<name>.apiKey ' +
  '(for example providers.openai.apiKey or providers.anthropic.apiKey), or an OpenAI-compatible server under ' +
  'providers.custom.apiBase, and choose the model in agents.defaults.model; then restart the agent.';
